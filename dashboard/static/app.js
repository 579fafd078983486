// Tally dashboard: plain JS, no dependencies, no CDN. Talks to the read API next to it.
"use strict";
(function () {
  var csrf = document.querySelector('meta[name="csrf"]').content;
  var scope = document.querySelector('meta[name="scope"]').content;
  var $ = function (id) { return document.getElementById(id); };
  var cursor = null;
  var LIVE_MS = 5000;

  function iso(d) { return d.toISOString().slice(0, 10); }
  function qs(obj) {
    return Object.keys(obj).filter(function (k) { return obj[k] !== "" && obj[k] != null; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(obj[k]); }).join("&");
  }
  function get(path, params) {
    return fetch(path + "?" + qs(params), { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { location.href = "dashboard/login"; throw new Error("signed out"); }
      return r.json().then(function (body) { if (!r.ok) throw new Error(body.message || r.status); return body; });
    });
  }
  function post(path, body) {
    return fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) })
      .then(function (r) { return r.json(); });
  }
  function text(el, value) { el.textContent = value == null ? "-" : String(value); }
  function range() {
    return { site: $("site").value, from: $("from").value, to: $("to").value + "T23:59", granularity: $("granularity").value };
  }
  function cell(row, value) { var td = document.createElement("td"); text(td, value); row.appendChild(td); return td; }

  function drawChart(points) {
    var w = 720, h = 220, pad = 30, n = points.length;
    var max = Math.max(1, Math.max.apply(null, points.map(function (p) { return Math.max(p.views, p.events); })));
    var x = function (i) { return pad + (n < 2 ? 0 : i * (w - 2 * pad) / (n - 1)); };
    var y = function (v) { return h - pad - v * (h - 2 * pad) / max; };
    var line = function (key) { return points.map(function (p, i) { return (i ? "L" : "M") + x(i).toFixed(1) + "," + y(p[key]).toFixed(1); }).join(""); };
    var ns = "http://www.w3.org/2000/svg", svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("preserveAspectRatio", "none");
    function add(tag, attrs, content) {
      var el = document.createElementNS(ns, tag);
      Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
      if (content != null) el.textContent = content;
      svg.appendChild(el);
    }
    add("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, "class": "axis" });
    add("text", { x: 2, y: pad, "class": "tick" }, max);
    add("text", { x: 2, y: h - pad, "class": "tick" }, 0);
    if (n) {
      add("text", { x: pad, y: h - 8, "class": "tick" }, points[0].bucket);
      add("text", { x: w - pad, y: h - 8, "class": "tick end" }, points[n - 1].bucket);
      add("path", { d: line("events"), "class": "events" });
      add("path", { d: line("views"), "class": "views" });
    }
    $("chart").replaceChildren(svg);
    var open = points.filter(function (p) { return !p.sealed && (p.views || p.events); }).length;
    text($("chart-note"), "views (solid), events (dashed)" + (open ? "; " + open + " bucket(s) still counting live" : ""));
  }

  function loadSeries() {
    return get("stats/series", range()).then(function (s) {
      text($("total-views"), s.totals.views); text($("total-events"), s.totals.events); text($("total-bots"), s.totals.bots);
      drawChart(s.points);
    });
  }
  function loadTop(by) {
    var p = range(); p.by = by; p.limit = 10;
    delete p.granularity;  // the API picks hours or days: top N reads one Query per bucket
    return get("stats/top", p).then(function (t) {
      var table = $("top-" + by); table.replaceChildren();
      t.rows.forEach(function (r) {
        var row = document.createElement("tr");
        cell(row, r.value).className = "value";
        cell(row, by === "event" ? r.events : r.views).className = "num";
        table.appendChild(row);
      });
      if (!t.rows.length) cell(table.insertRow(), "nothing yet");
    });
  }
  function loadLive() {
    var now = new Date(), from = new Date(now.getTime() - 30 * 60000);
    var p = { site: $("site").value, granularity: "m", from: from.toISOString().slice(0, 16), to: now.toISOString().slice(0, 16) };
    return get("stats/series", p).then(function (s) { text($("live-events"), s.totals.events); text($("live-views"), s.totals.views); });
  }
  function loadEvents(more) {
    var p = { site: $("site").value, name: $("filter-name").value, page: $("filter-page").value, limit: 50 };
    if (more && cursor) p.cursor = cursor;
    return get("stats/events", p).then(function (page) {
      var body = $("events").tBodies[0];
      if (!more) body.replaceChildren();
      page.events.forEach(function (e) {
        var row = body.insertRow();
        [e.event_time, e.name, e.path, e.referrer_host, e.browser, e.device].forEach(function (v) { cell(row, v); });
      });
      cursor = page.cursor; $("older").hidden = !cursor;
    });
  }
  function loadHealth() {
    return get("admin/health", {}).then(function (h) {
      var dl = $("health"); dl.replaceChildren();
      var rows = [["backend", h.backend], ["queued", h.queue.queued], ["in flight", h.queue.in_flight],
        ["oldest message (s)", h.queue.oldest_age_seconds], ["dead letters", h.queue.dead], ["retry set", h.queue.retry],
        ["last batch (s ago)", h.last_batch.seconds_ago], ["last batch size", h.last_batch.size], ["processing lag (s)", h.last_batch.lag_seconds],
        ["rollup ran (s ago)", h.rollup.seconds_ago], ["oldest unsealed bucket (s)", h.rollup.oldest_unsealed_seconds]];
      rows.forEach(function (r) {
        if (r[1] === undefined) return;
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        text(dt, r[0]); text(dd, r[1]); dl.appendChild(dt); dl.appendChild(dd);
      });
    });
  }
  function inspect() {
    return get("admin/dlq", { limit: 10 }).then(function (d) {
      var table = $("dead"); table.replaceChildren();
      d.messages.forEach(function (m) { var row = table.insertRow(); cell(row, m.id); cell(row, m.error); cell(row, m.body).className = "body"; });
      if (!d.messages.length) cell(table.insertRow(), "no dead letters");
    });
  }
  function refresh() {
    cursor = null;
    var work = [loadSeries(), loadLive(), loadEvents(false)].concat(["page", "referrer", "browser", "device", "event", "utm_source"].map(loadTop));
    if (scope === "admin") work.push(loadHealth());
    return Promise.all(work).then(function () { document.body.dataset.loaded = String(Date.now()); })
      .catch(function (err) { document.body.dataset.error = err.message; });
  }

  function init(sites) {
    sites.forEach(function (s) { var o = document.createElement("option"); o.value = o.textContent = s; $("site").appendChild(o); });
    var today = new Date();
    $("to").value = iso(today); $("from").value = iso(new Date(today.getTime() - 6 * 86400000));
    $("logout-csrf").value = csrf;
    $("pipeline").hidden = scope !== "admin";
    $("controls").addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
    $("site").addEventListener("change", refresh);
    $("event-filters").addEventListener("submit", function (e) { e.preventDefault(); loadEvents(false); });
    $("older").addEventListener("click", function () { loadEvents(true); });
    $("inspect").addEventListener("click", inspect);
    $("redrive").addEventListener("click", function () {
      post("admin/dlq/redrive", { limit: 100 }).then(function (r) { text($("redrive-result"), "moved " + r.moved + ", failed " + r.failed); loadHealth(); inspect(); });
    });
    $("mint").addEventListener("click", function () {
      post("admin/tokens", { site: $("site").value }).then(function (r) { text($("minted"), r.token); });
    });
    refresh();
    setInterval(function () {
      if (document.hidden || !$("site").value) return;
      loadLive(); if (scope === "admin") loadHealth();
    }, LIVE_MS);
  }
  get("stats/sites", {}).then(function (s) { init(s.sites); });
})();
