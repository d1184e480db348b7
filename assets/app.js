// Idora: small progressive enhancements. Every page works without this
// file; it only adds confirmations and live previews. No inline handlers
// (the Content-Security-Policy forbids them): everything hangs off data-*
// attributes.
(function () {
  "use strict";

  // <button data-confirm="Sure?">: ask before the form is sent.
  document.addEventListener("submit", function (e) {
    var b = e.submitter;
    var text = (b && b.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      e.preventDefault();
    }
  }, true);

  // Branch hours: a closed day's times cannot be edited; "open around the
  // clock" hides the week (its values are still sent, and ignored).
  function syncRow(row) {
    var closed = row.querySelector("[data-hours-closed]");
    if (!closed) return;
    row.classList.toggle("is-closed", closed.checked);
    row.querySelectorAll("input[type=time], input[type=text]").forEach(function (i) {
      i.disabled = closed.checked;
    });
  }
  function syncHours(box) {
    var always = box.querySelector("[data-hours-always]");
    var days = box.querySelector("[data-hours-days]");
    if (always && days) days.hidden = always.checked;
    box.querySelectorAll("[data-hours-row]").forEach(syncRow);
  }
  function setupHours() {
    document.querySelectorAll("[data-hours]").forEach(function (box) {
      syncHours(box);
      box.addEventListener("change", function () { syncHours(box); });
    });
    // Disabled inputs are not sent; enable them just before sending so that
    // a day's times survive a round trip through a form error.
    document.addEventListener("submit", function (e) {
      if (e.defaultPrevented) return;
      e.target.querySelectorAll("[data-hours-row] input:disabled").forEach(function (i) { i.disabled = false; });
    });
  }

  // Branding: the chosen colour is previewed on the page at once.
  function setupColor() {
    document.querySelectorAll("input[data-brand-preview]").forEach(function (input) {
      var shown = document.querySelector("[data-brand-value]");
      input.addEventListener("input", function () {
        document.documentElement.style.setProperty("--brand", input.value);
        if (shown) shown.textContent = input.value;
      });
    });
  }

  // Branding: the chosen logo is shown before it is uploaded.
  function setupLogo() {
    var input = document.querySelector("input[data-logo-input]");
    var img = document.querySelector("img[data-logo-preview]");
    if (!input || !img || !window.FileReader) return;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file || !/^image\/(png|jpeg|webp|gif)$/.test(file.type)) return;
      var reader = new FileReader();
      reader.onload = function () {
        img.src = reader.result;
        img.hidden = false;
        var empty = document.querySelector("[data-logo-empty]");
        if (empty) empty.hidden = true;
      };
      reader.readAsDataURL(file);
    });
  }


  // The account menu and the phone's "More" sheet are <details>: one open
  // at a time, closed by a tap elsewhere or by Escape.
  function setupSheets() {
    function closeAll(except) {
      document.querySelectorAll("details[data-sheet][open]").forEach(function (d) {
        if (d !== except) d.open = false;
      });
    }
    document.addEventListener("toggle", function (e) {
      var d = e.target;
      if (d.matches && d.matches("details[data-sheet]") && d.open) closeAll(d);
    }, true);
    document.addEventListener("click", function (e) {
      if (!e.target.closest || !e.target.closest("details[data-sheet]")) closeAll(null);
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape") closeAll(null);
    });
  }

  // A strip of tabs that scrolls sideways shows its selected tab.
  function showSelectedTabs(root) {
    root.querySelectorAll("nav a[aria-current=page]").forEach(function (a) {
      var strip = a.parentElement;
      if (strip && strip.scrollWidth > strip.clientWidth) {
        strip.scrollLeft = a.offsetLeft - strip.offsetLeft - (strip.clientWidth - a.offsetWidth) / 2;
      }
    });
  }

  // "Back" on an error page: the previous page when there is one.
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-back]");
    if (a && window.history.length > 1) {
      e.preventDefault();
      window.history.back();
    }
  });

  function init() {
    setupSheets();
    showSelectedTabs(document);
    setupHours();
    setupColor();
    setupLogo();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
