// Security keys (WebAuthn) on the keys page and the code page, under the strict CSP (no inline script).
// The server puts the options into a JSON data block (#webauthn-options); a form marked
// data-webauthn="register" or "authenticate" asks the browser's authenticator on submit, puts its
// answer (JSON, binary fields in base64url) into the hidden "credential" field and posts the form.
// Browsers without WebAuthn keep the forms hidden and see the [data-webauthn-unsupported] note.
(function () {
  "use strict";

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function register(options) {
    var publicKey = Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      user: Object.assign({}, options.user, { id: toBytes(options.user.id) }),
      excludeCredentials: descriptors(options.excludeCredentials)
    });
    return navigator.credentials.create({ publicKey: publicKey }).then(function (credential) {
      var response = credential.response;
      return {
        id: credential.id, rawId: toText(credential.rawId), type: credential.type,
        authenticatorAttachment: credential.authenticatorAttachment || undefined,
        clientExtensionResults: credential.getClientExtensionResults(),
        response: {
          clientDataJSON: toText(response.clientDataJSON),
          attestationObject: toText(response.attestationObject),
          transports: response.getTransports ? response.getTransports() : []
        }
      };
    });
  }

  function authenticate(options) {
    var publicKey = Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      allowCredentials: descriptors(options.allowCredentials)
    });
    return navigator.credentials.get({ publicKey: publicKey }).then(function (credential) {
      var response = credential.response;
      return {
        id: credential.id, rawId: toText(credential.rawId), type: credential.type,
        authenticatorAttachment: credential.authenticatorAttachment || undefined,
        clientExtensionResults: credential.getClientExtensionResults(),
        response: {
          clientDataJSON: toText(response.clientDataJSON),
          authenticatorData: toText(response.authenticatorData),
          signature: toText(response.signature),
          userHandle: toText(response.userHandle)
        }
      };
    });
  }

  var data = document.getElementById("webauthn-options");
  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  document.querySelectorAll("[data-webauthn]").forEach(function (form) {
    form.hidden = !supported || !data;
  });
  document.querySelectorAll("[data-webauthn-unsupported]").forEach(function (note) {
    note.hidden = supported;
  });
  if (!supported || !data) return;
  var options = JSON.parse(data.textContent);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var kind = form.dataset && form.dataset.webauthn;
    if (!kind || form.elements.credential.value) return;
    event.preventDefault();
    var error = form.querySelector("[data-webauthn-error]");
    if (error) error.hidden = true;
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    (kind === "register" ? register(options) : authenticate(options)).then(function (answer) {
      form.elements.credential.value = JSON.stringify(answer);
      form.submit();
    }, function (problem) {
      if (button) button.disabled = false;
      if (error) {
        error.textContent = form.dataset.webauthnFailed + " (" + (problem && problem.name || "Error") + ")";
        error.hidden = false;
      }
    });
  });
})();
