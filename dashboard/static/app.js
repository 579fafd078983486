// Tally dashboard: plain JS, no dependencies, no CDN. The page's state lives in its URL
// (state.js); every number comes from the Stats API (api/v2/query) in the site's time zone.
"use strict";
(function () {
  var $ = Tally.$, state = Tally.state, view = Tally.view;
  var LIVE_MS = 5000, metric = "visitors", generation = 0;

  function base() {
    return { site_id: state.site, date_range: view.dateRange(), filters: view.filters() };
  }
  function controls() {
    $("site").value = state.site; $("period").value = state.period;
    $("custom").hidden = state.period !== "custom";
    $("from").value = state.from; $("to").value = state.to;
    var chosen = view.interval(), select = $("interval");
    select.replaceChildren();
    view.intervals().forEach(function (name) {
      var o = document.createElement("option"); o.value = o.textContent = name; select.appendChild(o);
    });
    select.value = chosen;
    chips();
  }
  function chips() {
    var list = $("filters"); list.replaceChildren();
    state.filters.forEach(function (f) {
      var chip = document.createElement("button");
      chip.type = "button"; chip.className = "chip"; chip.dataset.dimension = f[0];
      chip.textContent = f[0].replace(/^(event|visit):/, "") + " is " + f[1] + " \u00d7";
      chip.title = "Remove this filter";
      chip.addEventListener("click", function () { view.removeFilter(f[0]); Tally.refresh(); });
      list.appendChild(chip);
    });
  }

  Tally.filterBy = function (dimension, value) { view.addFilter(dimension, value); Tally.refresh(); };
  // Redraw everything; an answer to an older refresh than the latest is dropped by the body mark.
  Tally.refresh = function () {
    var mine = ++generation;
    view.write(); controls();
    var q = base();
    var work = [Tally.headline.load(q), Tally.chart.load(q, metric), Tally.panels.load(q),
      Tally.headline.live(state.site), Tally.events.load(false)];
    if (Tally.scope === "admin") work.push(Tally.admin.health());
    delete document.body.dataset.error;
    return Promise.all(work).then(function () {
      if (mine === generation) document.body.dataset.loaded = String(Date.now());
    }).catch(function (err) { document.body.dataset.error = err.message; });
  };

  function wire() {
    // Another site has its own time zone, goals and property keys: open the page afresh for it.
    $("site").addEventListener("change", function () { location.search = "?site=" + encodeURIComponent($("site").value); });
    $("period").addEventListener("change", function () {
      state.period = $("period").value; state.interval = "";  // the new range's default interval
      if (state.period === "custom" && !(state.from && state.to)) {
        var today = new Date().toISOString().slice(0, 10);
        state.from = state.from || today; state.to = state.to || today;
      }
      Tally.refresh();
    });
    $("custom").addEventListener("submit", function (e) {
      e.preventDefault(); state.from = $("from").value; state.to = $("to").value; Tally.refresh();
    });
    $("interval").addEventListener("change", function () { state.interval = $("interval").value; Tally.refresh(); });
    Array.prototype.forEach.call(document.querySelectorAll("#summary button[data-metric]"), function (b) {
      b.addEventListener("click", function () {
        if (Tally.chart.METRICS.indexOf(b.dataset.metric) < 0) return;
        metric = b.dataset.metric; Tally.refresh();
      });
    });
    Tally.events.wire();
    $("logout-csrf").value = Tally.csrf;
    if (Tally.scope === "admin") Tally.admin.wire();
  }

  function init(answer) {
    answer.sites.forEach(function (s) { var o = document.createElement("option"); o.value = o.textContent = s; $("site").appendChild(o); });
    view.read();
    if (answer.sites.indexOf(state.site) < 0) state.site = answer.sites[0] || "";
    Tally.panels.build();
    var site = answer.site || {};
    Tally.panels.props(site.props || []);
    Tally.text($("timezone"), site.timezone ? "times in " + site.timezone : "times in the site's time zone");
    wire();
    Tally.refresh();
    setInterval(function () {
      if (document.hidden || !state.site) return;
      // A missed beat is shown on the next one: the numbers stay as they were meanwhile.
      Tally.headline.live(state.site).catch(function () {});
      if (Tally.scope === "admin") Tally.admin.health().catch(function () {});
    }, LIVE_MS);
  }
  Tally.get("stats/sites", { site: new URLSearchParams(location.search).get("site") }).then(init);
})();
