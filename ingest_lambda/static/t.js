/* Tally tracking script. <script defer src="https://HOST/t.js" data-key="wk_..."></script>
   data-api: endpoint base (default: where t.js came from); data-respect-dnt="true": send
   nothing when Do Not Track or Global Privacy Control is on; data-auto="false": no automatic
   pageviews. Custom events: tally("signup", {plan: "pro"}). */
(function (w, d, n) {
  var s = d.currentScript, q = (w.tally && w.tally.q) || [];
  if (!s) return;
  var key = s.getAttribute("data-key") || "";
  var api = s.getAttribute("data-api") || s.src.replace(/\/t\.js(\?.*)?$/, "");
  var url = api + "/events?key=" + encodeURIComponent(key);
  var off = s.getAttribute("data-respect-dnt") === "true" &&
    (n.doNotTrack == "1" || w.doNotTrack == "1" || n.globalPrivacyControl === true);
  var last = null, first = true;

  function id() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16), h = [], i;
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    h = h.join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function send(name, props) {
    if (off || !key) return false;
    var now = new Date().toISOString();
    var body = JSON.stringify({
      event_id: id(), name: name, url: location.href,
      referrer: first ? d.referrer || null : null,
      time: now, sent_at: now, properties: props || {}
    });
    first = false;
    // text/plain is a CORS "simple" type: no preflight request, for beacon and fetch alike.
    try {
      if (n.sendBeacon && n.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return true;
    } catch (e) {}
    if (w.fetch) {
      fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit",
        headers: { "Content-Type": "text/plain" } })["catch"](function () {});
      return true;
    }
    return false;
  }

  function pageview() {
    if (location.href === last) return;
    last = location.href;
    send("pageview");
  }

  function hook(method) {
    var orig = history[method];
    if (!orig) return;
    history[method] = function () {
      var r = orig.apply(this, arguments);
      setTimeout(pageview, 0);
      return r;
    };
  }

  w.tally = function (name, props) { return send(String(name), props); };
  if (s.getAttribute("data-auto") !== "false") {
    hook("pushState"); hook("replaceState");
    w.addEventListener("popstate", pageview);
    pageview();
  }
  for (var i = 0; i < q.length; i++) w.tally.apply(w, q[i]);
})(window, document, navigator);
