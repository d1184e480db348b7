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

  // <button data-copy="text" data-copied="Copied">: puts the text on the
  // clipboard (a generated password) and says so on the button for a moment.
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-copy]");
    if (!b) return;
    var text = b.getAttribute("data-copy");
    var label = b.textContent;
    function done() {
      b.textContent = b.getAttribute("data-copied") || label;
      window.setTimeout(function () { b.textContent = label; }, 2000);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(); });
    } else {
      fallback();
    }
    // Plain http on a LAN has no clipboard API: select a hidden field and copy.
    function fallback() {
      var t = document.createElement("textarea");
      t.value = text;
      t.setAttribute("readonly", "");
      t.className = "copy-buffer";
      document.body.appendChild(t);
      t.select();
      try { if (document.execCommand("copy")) done(); } catch (err) { /* nothing to copy with */ }
      document.body.removeChild(t);
    }
  });

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

  function init() {
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
