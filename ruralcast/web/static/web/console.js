// ruralcast console behaviour: mobile menu, region picker, confirmation of dangerous actions.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var nav = document.getElementById("main-nav");
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    // Region picker: a result button copies its code into the hidden input of its picker.
    var choice = event.target.closest("[data-region-code]");
    if (choice) {
      event.preventDefault();
      var picker = choice.closest("[data-region-picker]");
      picker.querySelector("input[type=hidden]").value = choice.dataset.regionCode;
      picker.querySelector("input[type=search]").value = choice.dataset.regionLabel;
      picker.querySelector("[data-picker-chosen]").textContent = choice.dataset.regionPath + " (" + choice.dataset.regionCode + ")";
      picker.querySelector(".picker-results").innerHTML = "";
    }
  });
  // Forms marked data-confirm ask before submitting (revoking, deactivating, replacing).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
