// ruralcast player: HLS through hls.js (vendored), or the browser's own HLS (Safari, TVs).
(function () {
  "use strict";
  function attach(video) {
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
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("video[data-hls]").forEach(attach);
  });
})();
