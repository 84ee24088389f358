/* civid passkeys: the WebAuthn ceremonies of the login, binding and account pages.
 * No inline script (CSP script-src 'self'): pages mark containers with data-passkey="login|register" and carry
 * their words in data-msg-* attributes (already in the page's language). The server keeps every challenge;
 * this file only converts between WebAuthn's ArrayBuffers and the base64url JSON the server speaks. */
(function () {
  "use strict";

  function decode(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64), bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function encode(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrfToken(container) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : container.dataset.csrf;
  }

  async function post(url, body, token) {
    var response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": token},
      body: JSON.stringify(body)
    });
    var data = {};
    try { data = await response.json(); } catch (ignored) { data = {}; }
    if (!response.ok) {
      var error = new Error(data.message || data.detail || response.statusText);
      error.fromServer = true;
      throw error;
    }
    return data;
  }

  function creationOptions(json) {
    var options = json.publicKey;
    options.challenge = decode(options.challenge);
    options.user.id = decode(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = decode(c.id); });
    return {publicKey: options};
  }

  function requestOptions(json) {
    var options = json.publicKey;
    options.challenge = decode(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = decode(c.id); });
    return {publicKey: options};
  }

  function common(credential) {
    return {
      id: credential.id, rawId: encode(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {}
    };
  }

  function registrationJSON(credential) {
    var json = common(credential), r = credential.response;
    json.response = {clientDataJSON: encode(r.clientDataJSON), attestationObject: encode(r.attestationObject),
                     transports: r.getTransports ? r.getTransports() : []};
    return json;
  }

  function assertionJSON(credential) {
    var json = common(credential), r = credential.response;
    json.response = {clientDataJSON: encode(r.clientDataJSON), authenticatorData: encode(r.authenticatorData),
                     signature: encode(r.signature)};
    if (r.userHandle) { json.response.userHandle = encode(r.userHandle); }
    return json;
  }

  function feedback(container) {
    var alert = container.querySelector("[data-passkey-error]");
    var status = container.querySelector("[data-passkey-status]");
    return {
      busy: function () { alert.hidden = true; alert.textContent = ""; status.textContent = container.dataset.msgWorking || ""; },
      fail: function (message) { status.textContent = ""; alert.textContent = message; alert.hidden = false; },
      done: function (message) { status.textContent = message; }
    };
  }

  function explain(error, container) {
    if (error.fromServer) { return error.message || container.dataset.msgFailed; }
    if (error.name === "NotAllowedError" || error.name === "AbortError") { return container.dataset.msgCancelled; }
    /* The browser refuses the relying-party id for this page's address (an IP address, another host name). */
    if (error.name === "SecurityError") { return container.dataset.msgWrongDomain || container.dataset.msgFailed; }
    if (error.name === "InvalidStateError") { return container.dataset.msgDuplicate || container.dataset.msgFailed; }
    return container.dataset.msgFailed;
  }

  async function login(container) {
    var token = csrfToken(container);
    var options = await post("/login/passkey/options", {interaction: container.dataset.interaction || null}, token);
    var credential = await navigator.credentials.get(requestOptions(options));
    var result = await post("/login/passkey/verify", assertionJSON(credential), token);
    window.location.assign(result.redirect);
  }

  async function register(container, show) {
    var token = csrfToken(container);
    var labelInput = container.querySelector("[data-passkey-label]");
    var body = {code: container.dataset.code || null,
                label: (labelInput ? labelInput.value : container.dataset.label) || ""};
    var options = await post("/passkeys/register/options", body, token);
    var credential = await navigator.credentials.create(creationOptions(options));
    var result = await post("/passkeys/register/verify", registrationJSON(credential), token);
    if (container.dataset.reload) { window.location.assign(container.dataset.reload); return; }
    show.done(result.message);
    var next = container.querySelector("[data-passkey-next]");
    if (next) { next.href = result.next; next.hidden = false; next.focus(); }
    container.querySelector("[data-passkey-button]").hidden = true;
  }

  function wire(container) {
    if (container.dataset.passkeyReady) { return; }
    var button = container.querySelector("[data-passkey-button]");
    var show = feedback(container);
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show.fail(container.dataset.msgUnsupported);
      return;
    }
    if (container.dataset.origin && window.location.origin !== container.dataset.origin) {
      /* Passkeys are bound to the issuer's host: at any other address every ceremony would fail. Say so now. */
      show.fail(container.dataset.msgWrongDomain);
      return;
    }
    button.hidden = false;
    button.addEventListener("click", async function (event) {
      event.preventDefault();
      button.disabled = true;
      show.busy();
      try {
        if (container.dataset.passkey === "login") { await login(container); } else { await register(container, show); }
      } catch (error) {
        show.fail(explain(error, container));
      } finally {
        button.disabled = false;
      }
    });
    container.dataset.passkeyReady = "true";
  }

  function start() { document.querySelectorAll("[data-passkey]").forEach(wire); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
