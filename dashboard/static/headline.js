// The six headline numbers with their change against the previous period, and current visitors.
"use strict";
(function () {
  var METRICS = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"];
  var $ = Tally.$;

  function duration(seconds) {
    return seconds < 60 ? seconds + "s" : Math.floor(seconds / 60) + "m " + (seconds % 60) + "s";
  }
  function shown(metric, value) {
    if (value == null) return "-";
    if (metric === "bounce_rate") return value + "%";
    if (metric === "visit_duration") return duration(value);
    return String(value);
  }
  // Bounce rate changes in points; the others in percent of the previous value; against a
  // period without visits every number is new.
  function change(metric, now, before, visitsBefore) {
    if (now == null || before == null) return "";
    if (visitsBefore === 0) return now === 0 ? "0%" : "new";
    if (metric === "bounce_rate") return signed(Math.round(now - before)) + " pts";
    if (before === 0) return now === 0 ? "0%" : "new";
    return signed(Math.round(100 * (now - before) / before)) + "%";
  }
  // "2026-11-25T00:00:00-05:00" as the site's clock shows it: "2026-11-25 00:00".
  function local(iso) { return iso.slice(0, 16).replace("T", " "); }
  function signed(n) { return (n > 0 ? "+" : "") + n; }

  // views_per_visit cannot be asked with an event:page filter (Plausible's rule): shown as "-".
  function asked(filters) {
    var page = filters.some(function (f) { return f[1] === "event:page"; });
    return METRICS.filter(function (m) { return !(page && m === "views_per_visit"); });
  }
  function values(answer, metrics) {
    var row = answer.results[0] ? answer.results[0].metrics : [];
    var out = {};
    metrics.forEach(function (m, i) { out[m] = row[i]; });
    return out;
  }

  function load(base) {
    var metrics = asked(base.filters);
    var body = Object.assign({}, base, { metrics: metrics });
    return Tally.query(body).then(function (now) {
      var before = Object.assign({}, body, { date_range: Tally.view.previous(now.query.date_range) });
      return Tally.query(before).then(function (prior) {
        var current = values(now, metrics), prev = values(prior, metrics);
        METRICS.forEach(function (m) {
          Tally.text($("stat-" + m), shown(m, current[m]));
          var el = $("change-" + m), text = change(m, current[m], prev[m], prev.visits);
          Tally.text(el, text);
          el.className = "change " + (text.charAt(0) === "+" ? "up" : text.charAt(0) === "-" ? "down" : "");
        });
        Tally.text($("range-shown"), now.query.date_range.map(local).join(" to "));
        Tally.text($("range-previous"), "change against the " + before.date_range.map(local).join(" to ") + " UTC before");
        return now;
      });
    });
  }

  // Visitors of the last 5 minutes, whatever the filters and range (Plausible's current visitors).
  function live(site) {
    var now = Date.now();
    return Tally.query({ site_id: site, metrics: ["visitors"], date_range: [Tally.view.utc(now - 300000), Tally.view.utc(now)] })
      .then(function (answer) { Tally.text($("current-visitors"), answer.results[0] ? answer.results[0].metrics[0] : 0); });
  }

  Tally.headline = { load: load, live: live, shown: shown, METRICS: METRICS };
})();
