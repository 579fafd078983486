/* Tally tracking script. <script defer src="https://HOST/t.js" data-key="wk_..."></script>
   data-api: endpoint base (default: where t.js came from); data-respect-dnt="true": send
   nothing under Do Not Track or Global Privacy Control; data-auto="false": no automatic
   pageviews. Custom events: tally("signup", {plan: "pro"}). Opt-in, each by its attribute:
   data-outbound="true": clicks on links to other sites ("outbound_link", {url});
   data-downloads="true" or "pdf,zip": clicks on file links ("file_download", {url});
   data-404="true" on a not-found page: a "404" event with its path;
   data-tagged="true": clicks (and form submits) on elements with data-tally-event="name",
   their data-tally-prop-*="value" attributes as properties;
   data-hash="true": hash routing, #/page is the page (without it no fragment is sent);
   data-engagement="true": on page leave, "engagement" with engagement_ms and scroll_depth. */
(function (w, d, n) {
  var s = d.currentScript, q = (w.tally && w.tally.q) || [];
  if (!s) return;
  function opt(name) { return s.getAttribute("data-" + name); }
  var key = opt("key") || "";
  var api = opt("api") || s.src.replace(/\/t\.js(\?.*)?$/, "");
  var url = api + "/events?key=" + encodeURIComponent(key);
  var off = opt("respect-dnt") === "true" &&
    (n.doNotTrack == "1" || w.doNotTrack == "1" || n.globalPrivacyControl === true);
  var hash = opt("hash") === "true", dl = opt("downloads");
  var exts = dl && dl !== "true" ? dl.split(",") :
    "pdf,xlsx,docx,txt,rtf,csv,exe,key,pps,ppt,pptx,7z,pkg,rar,gz,zip,avi,mov,mp4,mpeg,wmv,midi,mp3,wav,wma,dmg".split(",");
  var last = null, first = true, seen = 0, since = 0, depth = 0;

  function id() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16), h = [], i;
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    h = h.join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function page() { return hash ? location.href : location.href.split("#")[0]; }

  function send(name, props, at) {
    if (off || !key) return false;
    var now = new Date().toISOString();
    var body = JSON.stringify({
      event_id: id(), name: name, url: at || page(),
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

  // Engagement: time the page was visible and focused, and how far down it was read.
  function scrolled() {
    var h = Math.max(d.documentElement.scrollHeight, d.body ? d.body.scrollHeight : 0) || 1;
    depth = Math.max(depth, Math.min(100, Math.round((w.scrollY + w.innerHeight) / h * 100)));
  }
  function active() { return d.visibilityState === "visible" && d.hasFocus(); }
  function tick() {
    var t = Date.now();
    if (since) seen += t - since;
    since = active() ? t : 0;
  }
  function leave() {
    tick();
    since = 0; // stopped until the page is visible again: pagehide and hidden come together
    if (last && seen > 0) send("engagement", { engagement_ms: seen, scroll_depth: depth }, last);
    seen = 0;
  }
  var engage = opt("engagement") === "true";
  if (engage) {
    scrolled();
    w.addEventListener("scroll", scrolled, { passive: true });
    d.addEventListener("visibilitychange", function () { d.visibilityState === "hidden" ? leave() : tick(); });
    w.addEventListener("pagehide", leave);
    w.addEventListener("focus", tick);
    w.addEventListener("blur", tick);
  }

  function pageview() {
    var at = page();
    if (at === last) return;
    if (engage && last) { leave(); depth = 0; scrolled(); }
    last = at;
    since = active() ? Date.now() : 0;
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

  function link(e) {
    if (e.type === "auxclick" && e.button !== 1) return;
    for (var a = e.target; a && !a.href; a = a.parentNode) {}
    if (!a || typeof a.href !== "string") return;
    var file = a.href.split(/[?#]/)[0], ext = file.split(".").pop().toLowerCase();
    if (opt("outbound") === "true" && a.host && a.host !== location.host) send("outbound_link", { url: a.href });
    else if (dl && /\.\w+$/.test(file) && exts.indexOf(ext) >= 0) send("file_download", { url: file });
  }

  function tagged(e) {
    for (var el = e.target, i = 0; el && el.getAttribute && i < 4; el = el.parentNode, i++) {
      var name = el.getAttribute("data-tally-event");
      if (!name) continue;
      if (e.type === "click" && el.tagName === "FORM") return;
      var props = {}, at = el.attributes;
      for (var j = 0; j < at.length; j++) {
        if (at[j].name.indexOf("data-tally-prop-") === 0) props[at[j].name.slice(16)] = at[j].value;
      }
      return send(name, props);
    }
  }

  w.tally = function (name, props) { return send(String(name), props); };
  if (opt("outbound") === "true" || dl) { d.addEventListener("click", link); d.addEventListener("auxclick", link); }
  if (opt("tagged") === "true") { d.addEventListener("click", tagged); d.addEventListener("submit", tagged); }
  if (opt("auto") !== "false") {
    hook("pushState"); hook("replaceState");
    w.addEventListener("popstate", pageview);
    if (hash) w.addEventListener("hashchange", pageview);
    pageview();
  }
  if (opt("404") === "true") send("404", { path: location.pathname });
  for (var i = 0; i < q.length; i++) w.tally.apply(w, q[i]);
})(window, document, navigator);
