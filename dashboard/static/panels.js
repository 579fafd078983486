// The breakdown panels: one Stats API query each (a dimension, the page's filters), a row's
// click filters every panel by its value.
"use strict";
(function () {
  var LIMIT = 10;
  var $ = Tally.$;
  // [id, dimension (props: the chosen key's), title, column]
  var PANELS = [
    ["pages", "event:page", "Top pages", "Page"], ["entry", "visit:entry_page", "Entry pages", "Page"],
    ["exit", "visit:exit_page", "Exit pages", "Page"], ["sources", "visit:source", "Sources", "Source"],
    ["utm_source", "visit:utm_source", "UTM sources", "utm_source"], ["utm_medium", "visit:utm_medium", "UTM mediums", "utm_medium"],
    ["utm_campaign", "visit:utm_campaign", "UTM campaigns", "utm_campaign"], ["countries", "visit:country", "Countries", "Country"],
    ["devices", "visit:device", "Devices", "Device"], ["browsers", "visit:browser", "Browsers", "Browser"],
    ["os", "visit:os", "Operating systems", "OS"], ["goals", "event:goal", "Goals", "Goal"], ["props", null, "Properties", "Value"]
  ];
  var METRICS = { goals: ["visitors", "events", "conversion_rate"], props: ["visitors", "events"] };
  var HEADS = { visitors: "Visitors", events: "Events", conversion_rate: "CR" };

  function build() {
    var grid = $("panels");
    PANELS.forEach(function (p) {
      var box = document.createElement("div"), h = document.createElement("h2");
      box.id = "panel-" + p[0]; h.textContent = p[2]; box.appendChild(h);
      if (p[0] === "props") box.appendChild(propPicker());
      var table = document.createElement("table"); table.id = "rows-" + p[0]; box.appendChild(table);
      var note = document.createElement("p"); note.className = "note"; note.id = "note-" + p[0]; box.appendChild(note);
      grid.appendChild(box);
    });
  }
  function propPicker() {
    var label = document.createElement("label"), input = document.createElement("input");
    label.textContent = "Property key"; input.id = "prop-key"; input.setAttribute("list", "prop-keys");
    input.addEventListener("change", function () { Tally.state.prop = input.value.trim(); Tally.refresh(); });
    var list = document.createElement("datalist"); list.id = "prop-keys";
    label.appendChild(input); label.appendChild(list);
    return label;
  }
  function dimensionOf(p) { return p[1] || (Tally.state.prop ? "event:props:" + Tally.state.prop : null); }

  function shown(metric, value) { return metric === "conversion_rate" ? value + "%" : String(value); }

  function fill(p, dimension, metrics, answer) {
    var table = $("rows-" + p[0]), top = 1;
    table.replaceChildren();
    var head = table.createTHead().insertRow();
    [p[3]].concat(metrics.map(function (m) { return HEADS[m]; })).forEach(function (name) {
      var th = document.createElement("th"); th.textContent = name; head.appendChild(th);
    });
    var body = table.createTBody();
    answer.results.forEach(function (r) { top = Math.max(top, r.metrics[0]); });
    answer.results.forEach(function (r) {
      var row = body.insertRow(), value = r.dimensions[0];
      var name = Tally.cell(row, value);
      name.className = "value";
      name.style.setProperty("--share", (100 * r.metrics[0] / top).toFixed(1) + "%");
      row.tabIndex = 0; row.className = "filterable"; row.title = "Filter by " + dimension + " " + value;
      metrics.forEach(function (m, i) { Tally.cell(row, shown(m, r.metrics[i])).className = "num"; });
      row.addEventListener("click", function () { Tally.filterBy(dimension, value); });
      row.addEventListener("keydown", function (e) { if (e.key === "Enter") Tally.filterBy(dimension, value); });
    });
    if (!answer.results.length) Tally.cell(body.insertRow(), "nothing yet");
    var total = answer.meta.total_rows;
    Tally.text($("note-" + p[0]), total > answer.results.length ? answer.results.length + " of " + total : "");
  }

  function loadOne(base, p) {
    var dimension = dimensionOf(p), metrics = METRICS[p[0]] || ["visitors"];
    if (!dimension) {
      $("rows-props").replaceChildren();
      Tally.text($("note-props"), "choose a property key");
      return Promise.resolve();
    }
    var body = Object.assign({}, base, { metrics: metrics, dimensions: [dimension],
      pagination: { limit: LIMIT }, include: { total_rows: true } });
    return Tally.query(body).then(function (answer) { fill(p, dimension, metrics, answer); }, function (err) {
      $("rows-" + p[0]).replaceChildren();
      Tally.text($("note-" + p[0]), err.message);
      throw err;
    });
  }
  function load(base) {
    $("prop-key").value = Tally.state.prop;
    return Promise.all(PANELS.map(function (p) { return loadOne(base, p); }));
  }
  function props(keys) {
    var list = $("prop-keys");
    list.replaceChildren();
    keys.forEach(function (k) { var o = document.createElement("option"); o.value = k; list.appendChild(o); });
    if (!Tally.state.prop && keys.length) Tally.state.prop = keys[0];
  }

  Tally.panels = { build: build, load: load, props: props, PANELS: PANELS, LIMIT: LIMIT };
})();
