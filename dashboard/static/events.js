// The raw events of the site, newest first, a page at a time (the read API's stats/events).
"use strict";
(function () {
  var $ = Tally.$, cursor = null;

  function load(more) {
    var p = { site: Tally.state.site, name: $("filter-name").value, page: $("filter-page").value, limit: 50 };
    if (more && cursor) p.cursor = cursor;
    else cursor = null;
    return Tally.get("stats/events", p).then(function (page) {
      var body = $("events").tBodies[0];
      if (!more) body.replaceChildren();
      page.events.forEach(function (e) {
        var row = body.insertRow();
        [e.event_time, e.name, e.path, e.referrer_host, e.browser, e.device].forEach(function (v) { Tally.cell(row, v); });
      });
      cursor = page.cursor; $("older").hidden = !cursor;
    });
  }
  function wire() {
    $("event-filters").addEventListener("submit", function (e) { e.preventDefault(); load(false); });
    $("older").addEventListener("click", function () { load(true); });
  }

  Tally.events = { load: load, wire: wire };
})();
