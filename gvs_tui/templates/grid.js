// The answer grid's filters and search (gvs report). Runs offline, fetches nothing, and only shows or
// hides rows: it reads the rows' text and never writes markup.
(function () {
  "use strict";
  var grids = document.querySelectorAll("section.answer-grid");
  Array.prototype.forEach.call(grids, function (grid) {
    var boxes = grid.querySelectorAll(".grid-filters input[name=flag]");
    var search = grid.querySelector(".grid-filters input[name=q]");
    var count = grid.querySelector(".grid-count");
    var rows = grid.querySelectorAll("tbody tr");
    var texts = Array.prototype.map.call(rows, function (row) {
      return Array.prototype.map.call(row.querySelectorAll("td.q"), function (cell) {
        return cell.textContent;
      }).join("\n").toLowerCase();
    });
    var flags = Array.prototype.map.call(rows, function (row) {
      return (row.getAttribute("data-flags") || "").split(" ");
    });
    function apply() {
      var wanted = Array.prototype.filter.call(boxes, function (b) { return b.checked; })
        .map(function (b) { return b.value; });
      var query = (search.value || "").trim().toLowerCase();
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var ok = wanted.every(function (f) { return flags[i].indexOf(f) >= 0; });
        if (ok && query) {
          ok = texts[i].indexOf(query) >= 0;
        }
        rows[i].hidden = !ok;
        if (ok) {
          shown++;
        }
      }
      count.textContent = shown + " of " + rows.length + " answers shown";
    }
    Array.prototype.forEach.call(boxes, function (b) { b.addEventListener("change", apply); });
    search.addEventListener("input", apply);
    apply();
  });
})();
