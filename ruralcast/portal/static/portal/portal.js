// The villagers' portal on five keys (arrows and OK), at the ES2017 level for old TV browsers.
//
// Spatial navigation is @bbc/tv-lrud-spatial (window.lrud, vendored): it picks the tile an arrow
// leads to, and remembers the last focused tile of each rail (`data-focus` on the <section>).
// This script adds what the library leaves to the page:
// - focus kept inside an open dialog ([role=dialog]:not([hidden]), or [data-portal-trap]);
// - focus never lost: when the focused tile disappears (or focus falls to <body> after an
//   overlay), it goes back to the rail's remembered tile, or the page's first tile;
// - the focused tile of a page remembered across visits (sessionStorage), so 返回 to the home
//   screen lands where the viewer left it;
// - the Back key (Backspace, BrowserBack, Escape) follows the visible 返回 tile; nothing depends on it;
// - read aloud: when on, the focused tile's title (data-speak) is spoken with audio the platform
//   makes (espeak-ng) and caches: /portal/speech/<language>/<sha256>.mp3?text=…
//
// window.portalFocus = {save, restore, focusFirst} is the API for the emergency overlay (push):
// save() before it covers the page, restore() after it clears.
(function () {
  "use strict";
  var KEY_STORE = "portal-focus:" + location.pathname;
  var READ_STORE = "portal-read-aloud";
  var BACK_KEYS = { Backspace: 1, BrowserBack: 1, Escape: 1, GoBack: 1 };
  var saved = null;

  function focusables(scope) {
    return Array.prototype.filter.call(
      (scope || document).querySelectorAll("a[href], button:not([disabled]), [tabindex]:not([tabindex='-1'])"),
      function (el) { return el.offsetParent !== null && !el.closest(".lrud-ignore"); }
    );
  }

  function trapScope() {
    var dialogs = document.querySelectorAll("[role=dialog]:not([hidden]), dialog[open], [data-portal-trap]");
    return dialogs.length ? dialogs[dialogs.length - 1] : null;
  }

  function isLost(el) {
    return !el || el === document.body || el === document.documentElement || !document.contains(el) ||
      el.offsetParent === null;
  }

  function focusFirst() {
    var scope = trapScope() || document.getElementById("portal-main") || document;
    var auto = scope.querySelector("[data-portal-autofocus]");
    var first = auto || focusables(scope)[0] || focusables(document)[0];
    if (first) { first.focus(); }
    return first;
  }

  function remembered() {
    var id = null;
    try { id = sessionStorage.getItem(KEY_STORE); } catch (e) { id = null; }
    var el = id ? document.getElementById(id) : null;
    return el && !isLost(el) ? el : null;
  }

  function remember(el) {
    if (!el || !el.id) { return; }
    try { sessionStorage.setItem(KEY_STORE, el.id); } catch (e) { /* private mode: memory only */ }
  }

  // Where focus goes when it is lost: the remembered tile of the rail it was in, that rail's
  // first tile, or the page's first tile.
  function recover(from) {
    var rail = from && from.rail && document.contains(from.rail) ? from.rail : null;
    if (rail) {
      var kept = document.getElementById(rail.getAttribute("data-focus") || "");
      var target = kept && !isLost(kept) ? kept : focusables(rail)[0];
      if (target) { target.focus(); return target; }
    }
    return focusFirst();
  }

  var last = null;
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    var rail = el.closest ? el.closest("section, nav, .lrud-container") : null;
    if (rail && el.id) { rail.setAttribute("data-focus", el.id); }
    last = { el: el, rail: rail };
    remember(el);
    speak(el);
  });

  function checkLost() {
    if (isLost(document.activeElement)) { recover(last); }
  }
  new MutationObserver(function () { setTimeout(checkLost, 0); }).observe(document.documentElement, {
    childList: true, subtree: true, attributes: true, attributeFilter: ["hidden", "class"]
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented) { return; }
    var key = event.key;
    var current = document.activeElement;
    if (BACK_KEYS[key]) {
      var tag = current && current.tagName;
      if (key === "Backspace" && (tag === "INPUT" || tag === "TEXTAREA")) { return; }
      var back = document.querySelector("[data-portal-back]");
      if (back && !trapScope()) { event.preventDefault(); back.click(); }
      return;
    }
    if (["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(key) < 0) { return; }
    if (current && current.tagName === "INPUT" && (key === "ArrowLeft" || key === "ArrowRight")) { return; }
    event.preventDefault();
    if (isLost(current)) { recover(last); return; }
    var scope = trapScope() || undefined;
    var next = window.lrud && window.lrud.getNextFocus(current, key, scope);
    if (next) {
      next.focus();
      if (next.scrollIntoView) { next.scrollIntoView({ block: "nearest", inline: "nearest" }); }
    }
  });

  // ------------------------------------------------------------------------ read aloud
  var player = null;
  function readAloudOn() {
    try { return localStorage.getItem(READ_STORE) === "on"; } catch (e) { return false; }
  }
  function showReadAloud() {
    var button = document.querySelector("[data-portal-read-aloud]");
    if (!button) { return; }
    var on = readAloudOn();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = button.getAttribute(on ? "data-on" : "data-off");
  }
  function sha256Hex(text) {
    var bytes = new TextEncoder().encode(text);
    return crypto.subtle.digest("SHA-256", bytes).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    });
  }
  // The language a title is read in: Mandarin when it holds a Chinese character (a village's
  // notice on an English page is still Chinese), English when it holds Latin letters and no
  // Chinese, else the page's language (a title of digits only).
  function speechLanguage(text) {
    if (/[\u3400-\u9fff]/.test(text)) { return "zh-hans"; }
    if (/[A-Za-z]/.test(text)) { return "en"; }
    return (document.documentElement.lang || "zh-hans").toLowerCase().indexOf("en") === 0 ? "en" : "zh-hans";
  }
  function speak(el) {
    if (!readAloudOn() || !el || !el.getAttribute) { return; }
    var text = (el.getAttribute("data-speak") || el.textContent || "").replace(/\s+/g, " ").trim();
    if (!text) { return; }
    // crypto.subtle exists only on https and localhost: elsewhere the platform works out the key
    // and redirects to the keyed address.
    var keyed = window.crypto && crypto.subtle ? sha256Hex(text) : Promise.resolve("");
    keyed.then(function (digest) {
      if (document.activeElement !== el) { return; }  // the viewer moved on already
      var base = document.body.getAttribute("data-speech-url").replace("LANG", speechLanguage(text));
      var url = (digest ? base.replace("KEY", digest) : base.replace("KEY.mp3", "")) +
        "?text=" + encodeURIComponent(text);
      if (!player) { player = new Audio(); }
      player.src = url;
      document.body.setAttribute("data-speaking", url);
      var played = player.play();
      if (played && played.catch) { played.catch(function () { /* autoplay refused: stays silent */ }); }
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-portal-read-aloud]");
    if (!button) { return; }
    try { localStorage.setItem(READ_STORE, readAloudOn() ? "off" : "on"); } catch (e) { return; }
    showReadAloud();
    speak(button);
  });

  window.portalFocus = {
    // Keep the focused element, to give it back after an overlay: save() then restore().
    save: function () { saved = document.activeElement; return saved; },
    restore: function () {
      var el = saved;
      saved = null;
      if (!isLost(el)) { el.focus(); return el; }
      return recover(last);
    },
    focusFirst: focusFirst
  };

  function start() {
    showReadAloud();
    var auto = document.querySelector("#portal-main [data-portal-autofocus]");
    var target = auto || remembered();
    if (target) { target.focus(); } else { focusFirst(); }
    document.documentElement.setAttribute("data-portal-ready", "1");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
