// What the page shows, kept in its URL (shareable): site, period, custom dates, interval, filters.
"use strict";
(function () {
  var PERIODS = ["day", "24h", "7d", "30d", "month", "12mo", "custom"];
  // The intervals each period allows, the default first (Plausible's choices).
  var INTERVALS = { day: ["hour", "minute"], "24h": ["hour", "minute"], "7d": ["day", "hour"],
    "30d": ["day", "week"], month: ["day", "week"], "12mo": ["month", "week", "day"] };
  var state = { site: "", period: "7d", from: "", to: "", interval: "", filters: [], prop: "" };

  function customIntervals() {
    var days = (Date.parse(state.to) - Date.parse(state.from)) / 86400000 + 1;
    if (!(days > 0)) return ["day"];
    if (days <= 1) return ["hour", "minute"];
    if (days <= 31) return ["day", "hour", "week"];
    return days <= 92 ? ["day", "week", "month"] : ["month", "week", "day"];
  }
  function intervals() { return state.period === "custom" ? customIntervals() : INTERVALS[state.period]; }
  function interval() {
    var allowed = intervals();
    return allowed.indexOf(state.interval) >= 0 ? state.interval : allowed[0];
  }
  function dateRange() { return state.period === "custom" ? [state.from, state.to] : state.period; }

  function read() {
    var url = new URLSearchParams(location.search);
    state.site = url.get("site") || "";
    state.period = PERIODS.indexOf(url.get("period")) >= 0 ? url.get("period") : "7d";
    state.from = url.get("from") || ""; state.to = url.get("to") || "";
    if (state.period === "custom" && !(state.from && state.to)) state.period = "7d";
    state.interval = url.get("interval") || "";
    state.prop = url.get("prop") || "";
    // f=<dimension>,<value>: the dimension holds no comma, the value may.
    state.filters = url.getAll("f").map(function (f) {
      var at = f.indexOf(","); return at > 0 ? [f.slice(0, at), f.slice(at + 1)] : null;
    }).filter(Boolean);
  }
  function write() {
    var url = new URLSearchParams();
    if (state.site) url.set("site", state.site);
    url.set("period", state.period);
    if (state.period === "custom") { url.set("from", state.from); url.set("to", state.to); }
    if (state.interval) url.set("interval", state.interval);
    if (state.prop) url.set("prop", state.prop);
    state.filters.forEach(function (f) { url.append("f", f[0] + "," + f[1]); });
    history.replaceState(null, "", location.pathname + "?" + url);
  }
  function addFilter(dimension, value) {
    state.filters = state.filters.filter(function (f) { return f[0] !== dimension; }).concat([[dimension, value]]);
  }
  function removeFilter(dimension) { state.filters = state.filters.filter(function (f) { return f[0] !== dimension; }); }
  // The filters as the Stats API takes them: every one must hold.
  function filters() { return state.filters.map(function (f) { return ["is", f[0], [f[1]]]; }); }

  // The period before [start, end] (the engine's resolved range, ISO times with offsets), as long.
  function previous(resolved) {
    var start = Date.parse(resolved[0]), end = Date.parse(resolved[1]) + 1000;
    var length = end - start;
    return [utc(start - length), utc(start - 1000)];
  }
  function utc(ms) { return new Date(ms).toISOString().slice(0, 19) + "Z"; }

  Tally.state = state;
  Tally.view = { read: read, write: write, intervals: intervals, interval: interval, dateRange: dateRange,
    addFilter: addFilter, removeFilter: removeFilter, filters: filters, previous: previous, utc: utc, PERIODS: PERIODS };
})();
