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
      var t = e.target;
      // Outside any menu, or on the dimmed page behind the sheet (the
      // <details> itself, not its summary or its content).
      if (!t.closest || !t.closest("details[data-sheet]") || t.matches("details[data-sheet]")) closeAll(null);
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

  // A strip that scrolls sideways on a phone (the booking days): a fade and
  // an arrow on each side where more is hidden, and the chosen item in view.
  function scrollCues(root) {
    root.querySelectorAll("[data-scroll-cue]").forEach(function (box) {
      var strip = box.firstElementChild;
      if (!strip || box.hasAttribute("data-cue-ready")) return;
      box.setAttribute("data-cue-ready", "");
      function update() {
        var max = strip.scrollWidth - strip.clientWidth;
        box.classList.toggle("more-before", max > 1 && strip.scrollLeft > 1);
        box.classList.toggle("more-after", max > 1 && strip.scrollLeft < max - 1);
      }
      var chosen = strip.querySelector("[aria-current]");
      if (chosen && strip.scrollWidth > strip.clientWidth) {
        var item = chosen.closest("li") || chosen;
        strip.scrollLeft = item.offsetLeft - strip.offsetLeft - (strip.clientWidth - item.offsetWidth) / 2;
      }
      strip.addEventListener("scroll", update, { passive: true });
      window.addEventListener("resize", update);
      update();
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { scrollCues(document); });
  else scrollCues(document);

  // "Back" on an error page: the previous page when there is one.
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-back]");
    if (a && window.history.length > 1) {
      e.preventDefault();
      window.history.back();
    }
  });

  // Dates and times: always 24-hour and dd.mm.yyyy, whatever the browser's
  // own locale would show in its native inputs. The visible field is text;
  // a hidden one keeps the name and the ISO value the server reads
  // (yyyy-mm-dd, hh:mm, yyyy-mm-ddThh:mm), so forms work the same without
  // this script (then with the browser's native inputs).
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  function validDate(d, m, y) {
    var t = new Date(Date.UTC(y, m - 1, d));
    return y >= 1900 && y <= 2999 && t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
  }
  // Text as typed → ISO, or null when it is not a real date/time.
  var parse = {
    date: function (v) {
      var m = /^\s*(\d{1,2})[.\/-](\d{1,2})[.\/-](\d{4})\s*$/.exec(v);
      if (!m || !validDate(+m[1], +m[2], +m[3])) return null;
      return m[3] + "-" + pad(+m[2]) + "-" + pad(+m[1]);
    },
    time: function (v) {
      var m = /^\s*(\d{1,2})[:.]?(\d{2})\s*$/.exec(v);
      if (!m || +m[1] > 23 || +m[2] > 59) return null;
      return pad(+m[1]) + ":" + m[2];
    },
    "datetime-local": function (v) {
      var m = /^\s*(\S+)\s+(\S+)\s*$/.exec(v);
      var d = m && parse.date(m[1]);
      var t = m && parse.time(m[2]);
      return d && t ? d + "T" + t : null;
    },
  };
  // ISO → text as shown.
  var show = {
    date: function (v) {
      var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(v);
      return m ? m[3] + "." + m[2] + "." + m[1] : v;
    },
    time: function (v) { return v.slice(0, 5); },
    "datetime-local": function (v) {
      var p = v.split("T");
      return p.length === 2 ? show.date(p[0]) + " " + show.time(p[1]) : v;
    },
  };
  // What to type, in the page's language (a hint only: digits are digits).
  var shapes = {
    uz: { date: "kk.oo.yyyy", time: "ss:dd", "datetime-local": "kk.oo.yyyy ss:dd" },
    ru: { date: "дд.мм.гггг", time: "чч:мм", "datetime-local": "дд.мм.гггг чч:мм" },
    en: { date: "dd.mm.yyyy", time: "hh:mm", "datetime-local": "dd.mm.yyyy hh:mm" },
  }[document.documentElement.lang] || { date: "dd.mm.yyyy", time: "hh:mm", "datetime-local": "dd.mm.yyyy hh:mm" };
  function enhanceDates(root) {
    root.querySelectorAll("input[type=date], input[type=time], input[type=datetime-local]").forEach(function (orig) {
      var kind = orig.type;
      if (kind === "time") {
        // hh:mm is also what the server reads: the same field, as text.
        orig.type = "text";
        orig.value = orig.value ? show.time(orig.value) : "";
        orig.placeholder = shapes.time;
        orig.title = shapes.time;
        orig.inputMode = "numeric";
        orig.maxLength = 5;  // hh:mm
        orig.setAttribute("data-date-kind", "time");
        var check = function () {
          var v = orig.value.trim();
          var t = v === "" ? "" : parse.time(v);
          orig.setCustomValidity(t === null ? shapes.time : "");
          return t;
        };
        orig.addEventListener("input", check);
        orig.addEventListener("change", function () {
          var t = check();
          if (t) orig.value = t;
        });
        return;
      }
      var text = document.createElement("input");
      text.type = "text";
      text.value = orig.value ? show[kind](orig.value) : "";
      text.placeholder = shapes[kind];
      text.title = shapes[kind];
      text.inputMode = "numeric";
      text.autocomplete = "off";
      text.setAttribute("data-date-kind", kind);
      text.maxLength = shapes[kind].length + 2;
      ["id", "class", "aria-describedby", "aria-invalid"].forEach(function (a) {
        if (orig.hasAttribute(a)) text.setAttribute(a, orig.getAttribute(a));
      });
      text.required = orig.required;
      text.readOnly = orig.readOnly;
      text.disabled = orig.disabled;
      orig.removeAttribute("id");
      orig.required = false;
      orig.type = "hidden";
      orig.setAttribute("data-date-value", kind);
      orig.parentNode.insertBefore(text, orig);
      function sync() {
        var v = text.value.trim();
        var iso = v === "" ? "" : parse[kind](v);
        text.setCustomValidity(iso === null ? shapes[kind] : "");
        orig.value = iso || "";
      }
      text.addEventListener("input", sync);
      text.addEventListener("change", function () {
        sync();
        if (orig.value) text.value = show[kind](orig.value);
        orig.dispatchEvent(new Event("change", { bubbles: true }));
      });
      // A disabled time (a closed day's hours) is not sent, like before.
      new MutationObserver(function () { orig.disabled = text.disabled; }).observe(text, { attributes: true, attributeFilter: ["disabled"] });
    });
  }

  function init() {
    enhanceDates(document);
    setupSheets();
    showSelectedTabs(document);
    setupHours();
    setupColor();
    setupLogo();
  }
  // Content swapped in by htmx gets the same treatment.
  document.addEventListener("htmx:load", function (e) {
    if (e.target && e.target !== document.body) enhanceDates(e.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
