// Live progress of a registration drive: polls the batch's status JSON and moves the <progress> bar and the
// counts; when the batch stops running (completed, paused, interrupted) the page reloads to show the results
// and the right buttons. Without JavaScript the page refreshes itself instead (<noscript> meta refresh).
(function () {
  "use strict";
  var section = document.querySelector("#batch-progress[data-status-url]");
  if (!section || section.dataset.status !== "running" || typeof fetch === "undefined") { return; }
  var bar = document.getElementById("progress-bar");
  var text = document.getElementById("progress-text");
  var every = 2000;

  function update(body) {
    bar.max = body.total || 1;
    bar.value = body.processed;
    text.textContent = text.dataset.template.replace("{done}", body.processed).replace("{total}", body.total);
    Object.keys(body.counts).forEach(function (status) {
      var cell = section.querySelector('[data-count="' + status + '"]');
      if (cell) { cell.textContent = body.counts[status]; }
    });
  }

  function poll() {
    fetch(section.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { window.location.reload(); return null; }  // signed out, or gone: let the page say
        return response.json();
      })
      .then(function (body) {
        if (!body) { return; }
        update(body);
        if (body.status !== "running") { window.location.reload(); return; }
        window.setTimeout(poll, every);
      })
      .catch(function () { window.setTimeout(poll, every * 3); });
  }

  window.setTimeout(poll, every);
})();
