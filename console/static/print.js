// The receipt's print button (CSP: no inline script). Without JavaScript the browser's own Print works the same.
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (!button || typeof window.print !== "function") { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
