// Request categories' form builder: add, remove and move field rows, and
// show a row's options only for a choice. The page works without it: a
// spare row adds a field, and the order is the rows' order.
(function () {
  "use strict";

  var list = document.getElementById("ra-fields");
  var tpl = document.getElementById("ra-field-template");
  if (!list || !tpl) return;
  var next = 0;

  function wire(row) {
    var type = row.querySelector("[data-ra-type]");
    var opts = row.querySelector("[data-ra-options]");
    function sync() {
      if (!type || !opts) return;
      var text = opts.querySelector("textarea");
      opts.hidden = type.value !== "choice" && !(text && text.value.trim());
    }
    if (type) type.addEventListener("change", sync);
    sync();
    row.querySelectorAll("[data-ra-up], [data-ra-down], [data-ra-remove]").forEach(function (b) {
      b.hidden = false;
    });
    var up = row.querySelector("[data-ra-up]");
    var down = row.querySelector("[data-ra-down]");
    var remove = row.querySelector("[data-ra-remove]");
    if (up) up.addEventListener("click", function () {
      var prev = row.previousElementSibling;
      if (prev) list.insertBefore(row, prev);
      up.focus();
    });
    if (down) down.addEventListener("click", function () {
      var after = row.nextElementSibling;
      if (after) list.insertBefore(after, row);
      down.focus();
    });
    if (remove) remove.addEventListener("click", function () {
      var focus = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      var add = document.querySelector("[data-ra-add]");
      if (focus) {
        var input = focus.querySelector("input");
        if (input) input.focus();
      } else if (add) {
        add.focus();
      }
    });
  }

  list.querySelectorAll("[data-ra-row]").forEach(wire);

  // With the script, the spare blank row goes: "Add field" makes rows.
  var spare = list.querySelector("[data-ra-row] input[name='field-new-key']");
  if (spare) {
    var row = spare.closest("[data-ra-row]");
    if (row && list.children.length > 1) row.remove();
  }

  var add = document.querySelector("[data-ra-add]");
  if (add) {
    add.hidden = false;
    add.addEventListener("click", function () {
      next += 1;
      var html = tpl.innerHTML.split("__ROW__").join("n" + next);
      var holder = document.createElement("ol");
      holder.innerHTML = html;
      var row = holder.firstElementChild;
      if (!row) return;
      list.appendChild(row);
      wire(row);
      var first = row.querySelector("input");
      if (first) first.focus();
    });
  }
})();
