// The read API next to the page: GET for the older routes, POST api/v2/query for the Stats API.
"use strict";
var Tally = window.Tally = window.Tally || {};
(function () {
  var csrf = document.querySelector('meta[name="csrf"]').content;
  Tally.csrf = csrf;
  Tally.scope = document.querySelector('meta[name="scope"]').content;
  Tally.$ = function (id) { return document.getElementById(id); };

  function answered(r) {
    if (r.status === 401) { location.href = "dashboard/login"; throw new Error("signed out"); }
    return r.json().then(function (body) {
      if (!r.ok) throw new Error((body.field ? body.field + ": " : "") + (body.message || body.error || r.status));
      return body;
    });
  }
  Tally.get = function (path, params) {
    var query = new URLSearchParams();
    Object.keys(params).forEach(function (k) { if (params[k] !== "" && params[k] != null) query.set(k, params[k]); });
    return fetch(path + "?" + query, { credentials: "same-origin" }).then(answered);
  };
  Tally.post = function (path, body) {
    return fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body) })
      .then(answered);
  };
  // One Stats API v2 query: {site_id, metrics, date_range, dimensions, filters, ...}.
  Tally.query = function (body) { return Tally.post("api/v2/query", body); };

  Tally.text = function (el, value) { el.textContent = value == null ? "-" : String(value); };
  Tally.cell = function (row, value) {
    var td = document.createElement("td"); Tally.text(td, value); row.appendChild(td); return td;
  };
})();
