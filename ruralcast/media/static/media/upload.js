// Chunked, resumable upload to the media API: start an upload, PUT the file piece by piece with
// Content-Range, and on a dropped connection ask the server where it stands and go on from there.
(function () {
  "use strict";
  var form = document.querySelector("[data-chunked-upload]");
  if (!form) return;
  var csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
  var bar = form.querySelector("[data-upload-progress]");
  var errorBox = form.querySelector("[data-upload-error]");
  function show(percent) {
    bar.hidden = false;
    bar.querySelector(".progress-bar").value = percent;
    bar.querySelector("span").textContent = percent + " %";
  }
  function fail(body) {
    var error = (body && body.error) || {};
    var text = error.message || String(body);
    // Field messages that add something, without the field's programme name (the JSON keeps it for developers).
    Object.keys(error.fields || {}).forEach(function (name) {
      error.fields[name].forEach(function (said) { if (said && text.indexOf(said) < 0) text += " " + said; });
    });
    errorBox.textContent = text;
    errorBox.hidden = false;
    form.querySelector("button[type=submit]").disabled = false;
  }
  function request(method, url, body, headers) {
    return fetch(url, { method: method, body: body, credentials: "same-origin", headers: Object.assign({ "X-CSRFToken": csrf }, headers || {}) })
      .then(function (response) { return response.json().then(function (data) { return { status: response.status, data: data }; }); });
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    var file = form.querySelector("input[type=file]").files[0];
    if (!file) return;
    form.querySelector("button[type=submit]").disabled = true;
    var chunk = parseInt(form.dataset.chunk, 10);
    var meta = {
      filename: file.name, size: file.size,
      owner_region: form.querySelector("[name=owner_region]").value,
      title: form.querySelector("[name=title]").value,
      description: form.querySelector("[name=description]").value,
      tags: form.querySelector("[name=tags]").value.split(",").map(function (t) { return t.trim(); }).filter(Boolean),
      language: form.querySelector("[name=language]").value,
      licence: form.querySelector("[name=licence]").value,
      access: form.querySelector("[name=access]").value
    };
    request("POST", form.dataset.api, JSON.stringify(meta), { "Content-Type": "application/json" }).then(function (answer) {
      if (answer.status !== 201) return fail(answer.data);
      var url = answer.data.upload_url;
      var retries = 0;
      function send(offset) {
        if (offset >= file.size) return;
        var end = Math.min(offset + chunk, file.size);
        request("PUT", url, file.slice(offset, end), { "Content-Range": "bytes " + offset + "-" + (end - 1) + "/" + file.size })
          .then(function (reply) {
            if (reply.status === 200) {
              retries = 0;
              show(Math.floor(reply.data.offset * 100 / file.size));
              if (reply.data.asset) { window.location = reply.data.asset.page_url; return; }
              return send(reply.data.offset);
            }
            if (reply.status === 409 && reply.data.error && reply.data.error.fields.offset) return send(parseInt(reply.data.error.fields.offset[0], 10));
            fail(reply.data);
          })
          .catch(function () {
            if (retries++ > 20) return fail(document.querySelector("[data-msg-retry]").textContent);
            setTimeout(function () {
              request("GET", url).then(function (state) { send(state.data.offset); }).catch(function () { send(offset); });
            }, 2000);
          });
      }
      send(0);
    }).catch(fail);
  });
})();
