// ruralcast player: HLS through hls.js (vendored), or the browser's own HLS (Safari, TVs).
// Videos present at load are attached, and so are those htmx swaps in later (the asset page's job
// poll swaps the player in when the transcode finishes).
(function () {
  "use strict";
  function attach(video) {
    if (video.dataset.hlsAttached) return;
    video.dataset.hlsAttached = "1";
    var source = video.dataset.hls;
    var live = video.hasAttribute("data-live");
    if (window.Hls && window.Hls.isSupported()) {
      var hls = new window.Hls(live ? { liveSyncDurationCount: 2, manifestLoadingMaxRetry: 60, manifestLoadingRetryDelay: 2000 } : {});
      hls.loadSource(source);
      hls.attachMedia(video);
      video.hls = hls;
      hls.on(window.Hls.Events.ERROR, function (_event, data) {
        video.dataset.hlsError = data.details || "error";
      });
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = source;
    }
  }
  function attachAll() {
    document.querySelectorAll("video[data-hls]").forEach(attach);
  }
  document.addEventListener("DOMContentLoaded", attachAll);
  document.addEventListener("htmx:afterSettle", attachAll);
})();
