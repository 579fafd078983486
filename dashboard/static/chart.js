// The chart over the range, one point per interval (every label, gaps as 0), and its data table.
"use strict";
(function () {
  var METRICS = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"];
  var NAMES = { visitors: "Visitors", visits: "Visits", pageviews: "Pageviews", bounce_rate: "Bounce rate", visit_duration: "Visit duration" };
  var $ = Tally.$, ns = "http://www.w3.org/2000/svg";

  function draw(points, metric) {
    var w = 720, h = 220, pad = 30, n = points.length, index = METRICS.indexOf(metric);
    var max = Math.max(1, Math.max.apply(null, points.map(function (p) { return p.values[index]; })));
    var x = function (i) { return pad + (n < 2 ? 0 : i * (w - 2 * pad) / (n - 1)); };
    var y = function (v) { return h - pad - v * (h - 2 * pad) / max; };
    var svg = document.createElementNS(ns, "svg");
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
      add("text", { x: pad, y: h - 8, "class": "tick" }, points[0].label);
      add("text", { x: w - pad, y: h - 8, "class": "tick end" }, points[n - 1].label);
      add("path", { d: points.map(function (p, i) { return (i ? "L" : "M") + x(i).toFixed(1) + "," + y(p.values[index]).toFixed(1); }).join(""), "class": "views" });
    }
    $("chart").replaceChildren(svg);
    $("chart").setAttribute("aria-label", NAMES[metric] + " by " + Tally.view.interval());
  }

  function table(points) {
    var t = $("chart-data");
    t.replaceChildren();
    var head = t.createTHead().insertRow();
    ["time"].concat(METRICS.map(function (m) { return NAMES[m]; })).forEach(function (name) {
      var th = document.createElement("th"); th.textContent = name; head.appendChild(th);
    });
    var body = t.createTBody();
    points.forEach(function (p) {
      var row = body.insertRow();
      Tally.cell(row, p.label);
      p.values.forEach(function (v, i) { Tally.cell(row, Tally.headline.shown(METRICS[i], v)).className = "num"; });
    });
  }

  function load(base, metric) {
    var body = Object.assign({}, base, { metrics: METRICS, dimensions: ["time:" + Tally.view.interval()],
      include: { time_labels: true } });
    return Tally.query(body).then(function (answer) {
      var by = {};
      answer.results.forEach(function (r) { by[r.dimensions[0]] = r.metrics; });
      var points = answer.meta.time_labels.map(function (label) {
        return { label: label, values: by[label] || METRICS.map(function () { return 0; }) };
      });
      draw(points, METRICS.indexOf(metric) >= 0 ? metric : "visitors");
      table(points);
    });
  }

  Tally.chart = { load: load, METRICS: METRICS };
})();
