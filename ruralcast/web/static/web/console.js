// ruralcast console behaviour: mobile menu, region picker, confirmation of dangerous actions, print.
// Every behaviour lives in static files like this one: the Content-Security-Policy allows no inline
// script, no inline event handler (onclick=, hx-on) and no style attribute.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
      return;
    }
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var nav = document.getElementById("main-nav");
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    // Region picker: a result button copies its code into the hidden input of its picker.
    var removal = event.target.closest("[data-remove-code]");
    if (removal) {
      event.preventDefault();
      var multi = removal.closest("[data-region-picker]");
      var hiddenList = multi.querySelector("input[type=hidden]");
      hiddenList.value = hiddenList.value.split(",").filter(function (code) {
        return code && code !== removal.dataset.removeCode;
      }).join(",");
      removal.closest("li").remove();
      return;
    }
    var choice = event.target.closest("[data-region-code]");
    if (choice && choice.closest("[data-multiple]")) {
      event.preventDefault();
      var many = choice.closest("[data-region-picker]");
      var hidden = many.querySelector("input[type=hidden]");
      var codes = hidden.value ? hidden.value.split(",") : [];
      if (codes.indexOf(choice.dataset.regionCode) === -1) {
        codes.push(choice.dataset.regionCode);
        hidden.value = codes.join(",");
        var chip = document.createElement("li");
        chip.dataset.code = choice.dataset.regionCode;
        chip.textContent = choice.dataset.regionPath + " ";
        var code = document.createElement("code");
        code.textContent = choice.dataset.regionCode;
        chip.appendChild(code);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.dataset.removeCode = choice.dataset.regionCode;
        remove.textContent = "×";
        chip.appendChild(remove);
        many.querySelector("[data-picker-chips]").appendChild(chip);
      }
      many.querySelector("input[type=search]").value = "";
      many.querySelector(".picker-results").innerHTML = "";
      return;
    }
    if (choice) {
      event.preventDefault();
      var picker = choice.closest("[data-region-picker]");
      picker.querySelector("input[type=hidden]").value = choice.dataset.regionCode;
      picker.querySelector("input[type=search]").value = choice.dataset.regionLabel;
      picker.querySelector("[data-picker-chosen]").textContent = choice.dataset.regionPath + " (" + choice.dataset.regionCode + ")";
      picker.querySelector(".picker-results").innerHTML = "";
    }
  });
  // The command form shows only the parameter fields of the chosen command (all of them without script).
  function showCommandFields(form) {
    var kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    form.querySelectorAll("[data-command-fields]").forEach(function (group) {
      group.hidden = group.dataset.commandFields.split(" ").indexOf(kind.value) === -1;
    });
  }
  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-command-form]");
    if (form && event.target.name === "kind") showCommandFields(form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-command-form]").forEach(showCommandFields);
  });
  // A confirmation sentence on the page names the option chosen (the command), as the dialog does.
  function showChoice(form) {
    var choice = form.querySelector("select[data-confirm-choice]");
    var what = form.querySelector("[data-confirmation-what]");
    if (!choice || !what || choice.selectedIndex < 0) return;
    what.textContent = what.dataset.confirmationWhat.replace("{choice}", choice.options[choice.selectedIndex].text);
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-confirm-choice]")) showChoice(event.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-confirm-choice]").forEach(function (select) { showChoice(select.form); });
  });
  // Forms marked data-confirm ask before submitting (revoking, deactivating, replacing, commands to
  // many terminals: core/confirmations.py). "{choice}" names the option chosen in the form's
  // select[data-confirm-choice] (the command actually chosen).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.dataset.confirm) return;
    var question = form.dataset.confirm;
    var choice = form.querySelector("select[data-confirm-choice]");
    if (choice && choice.selectedIndex >= 0) {
      question = question.replace("{choice}", choice.options[choice.selectedIndex].text);
    }
    if (!window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
