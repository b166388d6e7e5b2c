// The trial list's filter: every word typed must occur in a row's text; design and indication
// narrow further. Without JavaScript every row stays visible.
(function () {
  var text = document.getElementById("filter-text");
  var design = document.getElementById("filter-design");
  var indication = document.getElementById("filter-indication");
  var count = document.getElementById("filter-count");
  var rows = document.querySelectorAll("#trial-table tbody tr");
  if (!text || !rows.length) { return; }
  function apply() {
    var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    rows.forEach(function (row) {
      var hay = row.getAttribute("data-search");
      var ok = words.every(function (w) { return hay.indexOf(w) !== -1; }) &&
        (!design.value || row.getAttribute("data-design") === design.value) &&
        (!indication.value || row.getAttribute("data-indication") === indication.value);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " trials";
  }
  [text, design, indication].forEach(function (el) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);  // selects fire only change in some browsers
  });
  apply();
}());
