// TV list: arrow keys move the focus, Enter opens (the link's own behaviour). Nothing else needed.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var items = Array.prototype.slice.call(document.querySelectorAll("[data-tv-item]"));
    if (!items.length) return;
    items[0].focus();
    document.addEventListener("keydown", function (event) {
      var index = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown" || event.key === "ArrowRight") index = Math.min(index + 1, items.length - 1);
      else if (event.key === "ArrowUp" || event.key === "ArrowLeft") index = Math.max(index - 1, 0);
      else return;
      event.preventDefault();
      items[index].focus();
      items[index].scrollIntoView({ block: "nearest" });
    });
  });
})();
