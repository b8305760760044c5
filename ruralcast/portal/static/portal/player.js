// The portal's full-screen player on five keys: on the video, OK plays or pauses and Left/Right
// seek 10 s; Up/Down leave the video for the bar (返回, Now/Next) through spatial navigation.
// HLS through the vendored hls.js, or the browser's own HLS (Safari, many TVs).
(function () {
  "use strict";
  var SEEK = 10;
  function attach(video) {
    var source = video.getAttribute("data-hls");
    var live = video.hasAttribute("data-live");
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls(live ? { liveSyncDurationCount: 2, manifestLoadingMaxRetry: 60 } : {});
      hls.loadSource(source);
      hls.attachMedia(video);
      hls.on(window.Hls.Events.ERROR, function (_event, data) { video.setAttribute("data-hls-error", data.details || "error"); });
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = source;
    }
  }
  function say(surface, text) {
    var state = surface.querySelector(".player-state");
    if (state) { state.textContent = text; }
  }
  function start() {
    var surface = document.querySelector("[data-player]");
    var video = document.getElementById("player-video");
    if (!surface || !video) { return; }
    attach(video);
    var played = video.play();
    if (played && played.catch) { played.catch(function () { /* autoplay refused: OK starts it */ }); }
    video.addEventListener("play", function () { surface.setAttribute("data-state", "playing"); say(surface, "▶"); });
    video.addEventListener("pause", function () { surface.setAttribute("data-state", "paused"); say(surface, "❚❚"); });
    surface.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        if (video.paused) { video.play(); } else { video.pause(); }
      } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();  // handled here, not by spatial navigation
        var step = event.key === "ArrowLeft" ? -SEEK : SEEK;
        var end = isFinite(video.duration) ? video.duration : video.currentTime + step;
        video.currentTime = Math.max(0, Math.min(end, video.currentTime + step));
        surface.setAttribute("data-seeked", String(Math.round(video.currentTime)));
        say(surface, (step < 0 ? "« " : "» ") + Math.round(video.currentTime) + " s");
      }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
