/* IPW Board charts: draws every plotly figure whose JSON sits in a
   <script type="application/json"> data block (never executed, so a strict CSP holds),
   on page load and after each htmx swap. */
(function () {
  "use strict";

  var config = { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function draw(root) {
    if (!window.Plotly) return;
    var nodes = (root || document).querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(nodes, function (el) {
      if (el.getAttribute("data-drawn")) return;
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) return;
      var figure;
      try {
        figure = JSON.parse(source.textContent);
      } catch (error) {
        el.textContent = "This chart could not be read.";
        return;
      }
      el.setAttribute("data-drawn", "1");
      window.Plotly.newPlot(el, figure.data || [], figure.layout || {}, config);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { draw(document); });
  } else {
    draw(document);
  }
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.target); });
  // Back/forward: htmx swaps the re-fetched page into <body>.
  document.addEventListener("htmx:historyRestore", function () { draw(document); });
})();
