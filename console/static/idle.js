// An unattended desk: after the console's idle timeout without a key press, click or touch, leave the page
// (the server ends the session on its side; this takes personal data and photos off the screen as well).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="console-idle-timeout"]');
  var seconds = meta ? parseInt(meta.content, 10) : 0;
  if (!seconds) { return; }
  var timer = null;
  function leave() { window.location.replace("/console?idle=1"); }
  function reset() {
    if (timer) { window.clearTimeout(timer); }
    timer = window.setTimeout(leave, seconds * 1000);
  }
  ["keydown", "pointerdown", "touchstart", "wheel"].forEach(function (name) {
    window.addEventListener(name, reset, { passive: true });
  });
  reset();
})();
