/* The emergency overlay of the villagers' portal (issue 17; docs/portal.md "Emergency overlay").
 *
 * Holds the push connection (Server-Sent Events from /portal/push/events; without EventSource a
 * poll every 10 s) and shows what the platform says is in force for this screen: every document
 * is the whole list, so this script only draws the first alert not yet acknowledged, or nothing.
 * While shown it pauses every playing <video>/<audio> of the page, traps focus on its one OK tile
 * and plays the alert's audio; when the list no longer holds it (Cancel, end, or OK pressed) it
 * resumes what was playing and gives focus back (window.portalFocus.save()/restore() when the
 * portal provides them, else the element that had focus). ES2017, no framework.
 */
(function () {
  "use strict";
  var root = document.getElementById("portal-overlay");
  if (!root) return;
  var POLL_MS = 10000;
  var ok = root.querySelector("[data-overlay-ok]");
  var audio = root.querySelector("[data-overlay-audio]");
  var levels = {};
  var template = root.querySelector("[data-overlay-levels]");
  if (template && template.content) {
    Array.prototype.forEach.call(template.content.querySelectorAll("[data-level]"), function (el) {
      levels[el.getAttribute("data-level")] = el.textContent;
    });
  }
  var shown = null;        // the alert on screen, or null
  var acknowledged = {};   // ebm_id → true once OK was pressed on it
  var lastAlerts = [];
  var paused = [];
  var savedFocus = null;
  var expiryTimer = null;

  function field(name) { return root.querySelector("[data-overlay-" + name + "]"); }

  function inForce(alert) { return Date.parse(alert.expires) > Date.now(); }

  function pauseMedia() {
    paused = [];
    Array.prototype.forEach.call(document.querySelectorAll("video, audio"), function (media) {
      if (media !== audio && !media.paused) { media.pause(); paused.push(media); }
    });
  }

  function resumeMedia() {
    paused.forEach(function (media) {
      var playing = media.play();
      if (playing && playing.catch) playing.catch(function () {});
    });
    paused = [];
  }

  function saveFocus() {
    if (window.portalFocus && typeof window.portalFocus.save === "function") { window.portalFocus.save(); savedFocus = null; }
    else savedFocus = document.activeElement;
  }

  function restoreFocus() {
    if (window.portalFocus && typeof window.portalFocus.restore === "function") window.portalFocus.restore();
    else if (savedFocus && savedFocus.focus && document.contains(savedFocus)) savedFocus.focus();
    savedFocus = null;
  }

  function playAudio(path) {
    audio.pause();
    if (!path) { audio.removeAttribute("src"); return; }
    audio.src = path;
    var playing = audio.play();
    if (playing && playing.catch) playing.catch(function () {}); // a box that refuses autoplay still shows the text
  }

  function show(alert, more) {
    if (!shown) { saveFocus(); pauseMedia(); }
    field("more").hidden = !more;
    if (!shown || shown.ebm_id !== alert.ebm_id) {
      root.className = "overlay sev-" + alert.severity + (alert.drill ? " drill" : "");
      root.setAttribute("data-ebm-id", alert.ebm_id);
      field("drill").hidden = !alert.drill;
      field("level").textContent = levels[String(alert.severity)] || String(alert.severity);
      field("sender").textContent = alert.sender_name;
      field("title").textContent = alert.title;
      field("text").textContent = alert.text;
      playAudio(alert.audio_path);
    }
    shown = alert;
    root.hidden = false;
    ok.focus();
  }

  function hide() {
    if (!shown) return;
    shown = null;
    root.hidden = true;
    root.removeAttribute("data-ebm-id");
    playAudio("");
    resumeMedia();
    restoreFocus();
  }

  function draw() {
    clearTimeout(expiryTimer);
    var waiting = lastAlerts.filter(function (a) { return inForce(a) && !acknowledged[a.ebm_id]; });
    if (!waiting.length) { hide(); return; }
    show(waiting[0], waiting.length > 1);
    var ends = Date.parse(waiting[0].expires) - Date.now();
    expiryTimer = setTimeout(draw, Math.min(Math.max(ends + 50, 50), 2147483000));
  }

  function take(text) {
    var doc;
    try { doc = JSON.parse(text); } catch (error) { return; }
    lastAlerts = Array.isArray(doc.alerts) ? doc.alerts : [];
    draw();
  }

  ok.addEventListener("click", function () {
    if (shown) acknowledged[shown.ebm_id] = true;
    draw();
  });
  // Focus stays on the OK tile while the overlay is up: the arrows and Tab go nowhere else.
  document.addEventListener("keydown", function (event) {
    if (!shown) return;
    var key = event.key;
    if (key === "Enter" || key === " ") return;
    event.preventDefault();
    event.stopPropagation();
    ok.focus();
  }, true);
  document.addEventListener("focusin", function (event) {
    if (shown && !root.contains(event.target)) ok.focus();
  }, true);

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", root.getAttribute("data-poll"));
    request.onload = function () {
      if (request.status === 200) take(request.responseText);
      if (request.status !== 401 && request.status !== 403) setTimeout(poll, POLL_MS);
      else { lastAlerts = []; draw(); }
    };
    request.onerror = function () { setTimeout(poll, POLL_MS); };
    request.send();
  }

  if (window.EventSource) {
    var source = new EventSource(root.getAttribute("data-events"));
    source.onmessage = function (event) { take(event.data); };
    source.addEventListener("revoked", function () { source.close(); lastAlerts = []; draw(); });
  } else {
    poll();
  }
  window.portalOverlay = { shown: function () { return shown; } };
})();
