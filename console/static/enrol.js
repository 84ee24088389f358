// Immediate quality feedback on the enrolment form: each chosen (or camera-taken) face photo and finger image
// is sent to the console's quality endpoints (the same gates the enrolment runs) and the verdict is shown next
// to it, in the page's language. Nothing is stored by these checks; the form still works without this script.
(function () {
  "use strict";
  var form = document.querySelector("form[data-enrol]");
  if (!form || typeof fetch === "undefined" || typeof FormData === "undefined") { return; }
  var token = form.querySelector("input[name=csrf_token]").value;
  var words = form.dataset;

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function line(node, text, tag) {
    var element = document.createElement(tag || "p");
    element.textContent = text;
    node.appendChild(element);
    return element;
  }

  function measurements(node, rows) {
    var list = document.createElement("dl");
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined) { return; }
      line(list, row[0], "dt");
      line(list, String(row[1]), "dd");
    });
    node.appendChild(list);
  }

  function show(node, body) {
    clear(node);
    node.className = "quality " + (body.passed ? "passed" : "refused");
    line(node, body.summary).style.fontWeight = "600";
    if (body.issues && body.issues.length) {
      var list = document.createElement("ul");
      body.issues.forEach(function (issue) { line(list, issue.message, "li"); });
      node.appendChild(list);
    }
    if ("nfiq2" in body) {
      measurements(node, [[words.labelNfiq2, body.nfiq2], [words.labelMinutiae, body.minutiae]]);
    } else {
      var pose = body.pose ? [body.pose.yaw, body.pose.pitch, body.pose.roll].join(" / ") : null;
      measurements(node, [[words.labelScore, body.score], [words.labelInterEye, body.inter_eye_px],
                          [words.labelSharpness, body.sharpness], [words.labelPose, pose]]);
    }
  }

  function check(url, fields, node) {
    var data = new FormData();
    Object.keys(fields).forEach(function (name) { data.append(name, fields[name]); });
    clear(node);
    node.className = "quality";
    line(node, words.checking);
    fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRF-Token": token } })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (type.indexOf("json") === -1) {  // a sign-in page: the console session ended
          clear(node); node.className = "quality refused"; line(node, words.signedOut); return null;
        }
        return response.json().then(function (body) {
          if (response.ok) { show(node, body); return; }
          clear(node);
          node.className = "quality refused";
          line(node, body.message || body.detail || words.failed);
        });
      })
      .catch(function () { clear(node); line(node, words.failed); });
  }

  // A photo whose verdict is "refused" cannot be sent (the server refuses it too): the officer retakes it.
  var submit = form.querySelector("#enrol-submit");
  var blocked = form.querySelector("#photo-blocked");
  function blockSubmit(refused) {
    submit.disabled = refused;
    blocked.hidden = !refused;
    if (refused) { submit.setAttribute("aria-describedby", "photo-blocked"); } else { submit.removeAttribute("aria-describedby"); }
  }
  var faceNode = form.querySelector("#face-quality");
  new MutationObserver(function () {
    blockSubmit(faceNode.classList.contains("refused"));
  }).observe(faceNode, { attributes: true, attributeFilter: ["class"] });

  var photo = form.querySelector("#photo");
  photo.addEventListener("change", function () {
    if (photo.files.length) {
      check("/console/enrol/quality/face", { photo: photo.files[0] }, faceNode);
    }
  });

  Array.prototype.forEach.call(form.querySelectorAll("input[data-finger]"), function (input) {
    input.addEventListener("change", function () {
      if (!input.files.length) { return; }
      var position = input.dataset.finger;
      check("/console/enrol/quality/finger", { finger: input.files[0], position: position },
            form.querySelector("#quality-finger_" + position));
    });
  });
})();
