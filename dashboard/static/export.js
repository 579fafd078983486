// The CSV zip of the panels for the page's range and filters (GET api/export/csv), made when
// the link is clicked so it always holds what the page shows.
"use strict";
(function () {
  var link = Tally.$("export-csv");
  link.addEventListener("click", function () {
    var range = Tally.view.dateRange();
    var query = new URLSearchParams({ site_id: Tally.state.site, filters: JSON.stringify(Tally.view.filters()),
      date_range: Array.isArray(range) ? range.join(",") : range });
    link.href = "api/export/csv?" + query;
  });
})();
