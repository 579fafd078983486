// The admin view: pipeline health, dead letters (inspect, redrive) and site viewer tokens.
"use strict";
(function () {
  var $ = Tally.$;

  function health() {
    return Tally.get("admin/health", {}).then(function (h) {
      var dl = $("health"); dl.replaceChildren();
      var rows = [["backend", h.backend], ["queued", h.queue.queued], ["in flight", h.queue.in_flight],
        ["oldest message (s)", h.queue.oldest_age_seconds], ["dead letters", h.queue.dead], ["retry set", h.queue.retry],
        ["last batch (s ago)", h.last_batch.seconds_ago], ["last batch size", h.last_batch.size], ["processing lag (s)", h.last_batch.lag_seconds],
        ["rollup ran (s ago)", h.rollup.seconds_ago], ["oldest unsealed bucket (s)", h.rollup.oldest_unsealed_seconds]];
      rows.forEach(function (r) {
        if (r[1] === undefined) return;
        var dt = document.createElement("dt"), dd = document.createElement("dd");
        Tally.text(dt, r[0]); Tally.text(dd, r[1]); dl.appendChild(dt); dl.appendChild(dd);
      });
    });
  }
  function inspect() {
    return Tally.get("admin/dlq", { limit: 10 }).then(function (d) {
      var table = $("dead"); table.replaceChildren();
      d.messages.forEach(function (m) {
        var row = table.insertRow(); Tally.cell(row, m.id); Tally.cell(row, m.error); Tally.cell(row, m.body).className = "body";
      });
      if (!d.messages.length) Tally.cell(table.insertRow(), "no dead letters");
    });
  }
  function wire() {
    $("pipeline").hidden = false;
    $("inspect").addEventListener("click", inspect);
    $("redrive").addEventListener("click", function () {
      Tally.post("admin/dlq/redrive", { limit: 100 }).then(function (r) {
        Tally.text($("redrive-result"), "moved " + r.moved + ", failed " + r.failed); health(); inspect();
      });
    });
    $("mint").addEventListener("click", function () {
      Tally.post("admin/tokens", { site: Tally.state.site }).then(function (r) { Tally.text($("minted"), r.token); });
    });
  }

  Tally.admin = { health: health, wire: wire };
})();
