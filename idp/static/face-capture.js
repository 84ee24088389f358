// Optional live camera for a face photo field: the citizen's face login form and the officer console's
// enrolment form (each works without it: the file input alone). Inside the element marked
// data-face-capture, "Take photo" draws one video frame to a canvas and puts it into the file input as a
// JPEG (DataTransfer), so the server receives the same multipart upload either way, then fires "change"
// (the console checks the photo's quality at once). No inline script: CSP script-src 'self'.
(function () {
  "use strict";
  var form = document.querySelector("[data-face-capture]");
  if (!form || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || typeof DataTransfer === "undefined") {
    return;
  }
  var input = form.querySelector("#photo");
  var panel = form.querySelector("#camera");
  var start = form.querySelector("#camera-start");
  var video = form.querySelector("#camera-preview");
  var canvas = form.querySelector("#camera-frame");
  var take = form.querySelector("#camera-take");
  var status = form.querySelector("#camera-status");
  var stream = null;
  panel.hidden = false;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.hidden = true;
    take.hidden = true;
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "user", width: { ideal: 1280 }, height: { ideal: 960 } }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.hidden = false;
        canvas.hidden = true;
        take.hidden = false;
        status.textContent = "";
        return video.play();
      })
      .then(function () { take.focus(); })
      .catch(function () { stop(); status.textContent = status.dataset.unavailable; input.focus(); });
  });

  take.addEventListener("click", function () {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    canvas.toBlob(function (blob) {
      if (!blob) { status.textContent = status.dataset.unavailable; return; }
      var files = new DataTransfer();
      files.items.add(new File([blob], "camera.jpg", { type: "image/jpeg" }));
      input.files = files.files;
      stop();
      canvas.hidden = false;
      start.textContent = status.dataset.retake;
      status.textContent = status.dataset.taken;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      var submit = form.tagName === "FORM" ? form.querySelector("button[type=submit]") : null;
      if (submit) { submit.focus(); }
    }, "image/jpeg", 0.92);
  });

  window.addEventListener("pagehide", stop);
})();
