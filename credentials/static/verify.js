// The verifier page: a QR from the camera, a photo of it or pasted text, checked in this browser (the card never
// leaves it); the page, its scripts and the credential keys kept by a service worker for offline use.
import { identity, parse, statusReference, validity, verifySignature } from "./claim169.js";
import { cardStatus } from "./status_list.js";

const root = document.getElementById("verifier");
const messages = JSON.parse(document.getElementById("verifier-messages").textContent);
const $ = (id) => document.getElementById(id);
const SCAN_EVERY_MS = 150;
let jwks = null;
let photoUrl = null;
let stream = null;
let scanTimer = null;

function say(key, values = {}) {
  return (messages[key] || key).replace(/\{(\w+)\}/g, (_, name) => values[name] ?? "");
}

function day(seconds) {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

async function loadKeys() {
  try {
    const response = await fetch(root.dataset.jwks); // the service worker answers from its copy when offline
    if (response.ok) jwks = await response.json();
  } catch {
    jwks = null;
  }
}
const keysLoaded = loadKeys();

function keepForOffline() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker
    .register(root.dataset.sw, { scope: root.dataset.scope })
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => {
      // This page's own address (its language) joins the cache; the worker answers once it is stored.
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        document.documentElement.dataset.offlineReady = "true";
      };
      registration.active.postMessage({ keep: location.pathname + location.search }, [channel.port2]);
    })
    .catch(() => {});
}

function state(element, key, tone, values) {
  element.textContent = say(key, values);
  element.className = "state " + tone;
  element.dataset.state = key.split(".").pop().replace(/^status_/, "");
}

function showFields(card, cwt, trusted) {
  const list = $("claims");
  list.replaceChildren();
  // Whatever a forged or altered QR says is shown only as what it is: marked unverified, and no photo (a checker
  // compares the face with the person before them; a forger's photo would be the one they compared).
  list.dataset.verified = trusted ? "true" : "false";
  $("unverified").hidden = trusted;
  const rows = { ...card.fields };
  if (typeof rows.date_of_birth === "string" && /^\d{8}$/.test(rows.date_of_birth)) {
    const d = rows.date_of_birth;
    rows.date_of_birth = `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6)}`;
  }
  if (rows.gender !== undefined) rows.gender = messages["verify.gender." + rows.gender] || String(rows.gender);
  if (card.cardNumber) rows.card_number = card.cardNumber;
  if (typeof cwt.get(1) === "string") rows.issuer = cwt.get(1);
  if (typeof cwt.get(6) === "number") rows.issued_at = day(cwt.get(6));
  for (const [name, value] of Object.entries(rows)) {
    const term = document.createElement("dt");
    term.textContent = say("verify.field." + name);
    const detail = document.createElement("dd");
    detail.dataset.field = name;
    detail.textContent = String(value);
    list.append(term, detail);
  }
  if (photoUrl) URL.revokeObjectURL(photoUrl);
  photoUrl = trusted && card.photo ? URL.createObjectURL(card.photo) : null;
  $("photo").hidden = !photoUrl;
  if (photoUrl) $("photo").src = photoUrl;
  else $("photo").removeAttribute("src");
}

async function check(text) {
  const verdict = $("verdict");
  // A new answer replaces the last one whole: nothing of the previous card stays on screen meanwhile.
  for (const id of ["verdict", "validity", "revocation"]) delete $(id).dataset.state;
  $("result").hidden = false;
  let parsed;
  try {
    parsed = await parse(text);
  } catch {
    verdict.textContent = say("verify.not_a_card");
    verdict.className = "verdict bad";
    verdict.dataset.state = "not_a_card";
    for (const id of ["validity", "revocation", "key-id"]) $(id).textContent = "";
    $("claims").replaceChildren();
    $("photo").hidden = true;
    $("unverified").hidden = true;
    return;
  }
  await keysLoaded;
  const signature = jwks ? await verifySignature(parsed, jwks) : "no_keys";
  const verdictKey = {
    valid: "verify.signature_valid",
    invalid: "verify.signature_invalid",
    unknown_key: "verify.unknown_key",
    unsupported_alg: "verify.unsupported_alg",
    no_keys: "verify.no_keys",
  }[signature];
  verdict.textContent = say(verdictKey);
  verdict.className = "verdict " + (signature === "valid" ? "good" : "bad");
  verdict.dataset.state = signature;
  $("key-id").textContent = parsed.kid || "—";

  const now = Math.floor(Date.now() / 1000);
  const when = validity(parsed.cwt, now);
  const exp = parsed.cwt.get(4);
  const nbf = parsed.cwt.get(5);
  const dates = { date: typeof exp === "number" ? day(exp) : "", since: typeof nbf === "number" ? day(nbf) : "" };
  const whenKey = { valid: "verify.valid_until", expired: "verify.expired", not_yet_valid: "verify.not_yet_valid",
    no_expiry: "verify.no_expiry" }[when];
  const trusted = signature === "valid";
  if (trusted) state($("validity"), whenKey, when === "valid" ? "good" : "bad", dates);
  else state($("validity"), "verify.validity_unchecked", "unknown"); // an unsigned date proves nothing
  showFields(identity(parsed.cwt), parsed.cwt, trusted);

  const revocation = $("revocation");
  const reference = statusReference(parsed.cwt);
  if (signature !== "valid") {
    state(revocation, "verify.status_unchecked", "unknown");
  } else if (!reference) {
    state(revocation, "verify.status_none", "unknown");
  } else {
    const status = await cardStatus(reference, jwks, location.origin, now);
    const tone = { valid: "good", revoked: "bad" }[status] || "unknown";
    state(revocation, "verify.status_" + status, tone);
  }
  $("progress").textContent = "";
}

// --- QR images: the camera and photos (jsQR, served by civid from /verify/jsQR.js) --------------------------
function scannerAvailable() {
  return typeof window.jsQR === "function";
}

function readQr(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(source, 0, 0, width, height);
  const pixels = context.getImageData(0, 0, width, height);
  const code = window.jsQR(pixels.data, width, height);
  return code ? code.data : null;
}

function stopCamera() {
  clearTimeout(scanTimer);
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
  $("camera").hidden = true;
  $("camera-stop").hidden = true;
  $("camera-start").hidden = false;
}

async function startCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    $("progress").textContent = say("verify.camera_unavailable");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    $("progress").textContent = say("verify.camera_unavailable");
    return;
  }
  const video = $("camera");
  video.srcObject = stream;
  video.hidden = false;
  $("camera-start").hidden = true;
  $("camera-stop").hidden = false;
  await video.play();
  $("progress").textContent = say("verify.scanning");
  const scan = () => {
    if (!stream) return;
    const text = video.videoWidth ? readQr(video, video.videoWidth, video.videoHeight) : null;
    if (text) {
      stopCamera();
      $("qr-text").value = text;
      check(text);
    } else {
      scanTimer = setTimeout(scan, SCAN_EVERY_MS);
    }
  };
  scan();
}

async function readImage(file) {
  const bitmap = await createImageBitmap(file);
  const text = readQr(bitmap, bitmap.width, bitmap.height);
  bitmap.close();
  if (!text) {
    $("progress").textContent = say("verify.no_qr_in_image");
    return;
  }
  $("qr-text").value = text;
  await check(text);
}

function init() {
  if (!scannerAvailable()) {
    $("scanner-unavailable").hidden = false;
    $("camera-start").disabled = true;
    $("qr-image").disabled = true;
  }
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", stopCamera);
  $("qr-image").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) readImage(file).catch(() => ($("progress").textContent = say("verify.no_qr_in_image")));
  });
  $("paste-form").addEventListener("submit", (event) => {
    event.preventDefault();
    check($("qr-text").value);
  });
  keepForOffline();
  root.dataset.ready = "true";
}

init();
