// The exports page: the period's days go into every link; XLSX starts a
// background job (POST /exports/{table}.xlsx), shows its progress from
// GET /jobs/{id} and then a download link. Without this script the links
// download directly.
(function () {
  "use strict";
  var list = document.querySelector(".exports-list");
  if (!list) return;
  var api = list.dataset.api;
  var form = document.querySelector(".exports-period");

  function query() {
    var parts = [];
    ["from", "to"].forEach(function (k) {
      var v = form && form.elements[k] ? form.elements[k].value : "";
      if (v) parts.push(k + "=" + encodeURIComponent(v));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function relink() {
    list.querySelectorAll(".export-item").forEach(function (item) {
      var t = item.dataset.table;
      item.querySelector(".export-csv").href = api + "/exports/" + t + ".csv" + query();
      item.querySelector(".export-xlsx").href = api + "/exports/" + t + ".xlsx" + query();
    });
  }
  if (form) form.addEventListener("change", relink);

  function fill(text, vars) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return vars[k] == null ? "" : vars[k]; });
  }

  function poll(item, id) {
    var box = item.querySelector(".export-progress");
    var bar = box.querySelector("progress");
    var status = box.querySelector(".export-status");
    fetch(api + "/jobs/" + id, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        if (j.state === "running") {
          if (j.percent != null) bar.value = j.percent; else bar.removeAttribute("value");
          status.textContent = j.total ? fill(list.dataset.rows, { done: j.done, total: j.total }) : list.dataset.preparing;
          setTimeout(function () { poll(item, id); }, 700);
        } else if (j.state === "done") {
          bar.value = 100;
          status.textContent = list.dataset.ready + " ";
          var a = document.createElement("a");
          a.className = "button primary";
          a.href = j.download_url;
          a.setAttribute("download", "");
          a.textContent = list.dataset.download;
          status.appendChild(a);
          item.querySelector(".export-xlsx").removeAttribute("aria-disabled");
        } else {
          status.textContent = fill(list.dataset.failed, { reason: j.error || "" });
          item.querySelector(".export-xlsx").removeAttribute("aria-disabled");
        }
      })
      .catch(function () { setTimeout(function () { poll(item, id); }, 2000); });
  }

  list.addEventListener("click", function (e) {
    // A CSV downloads by its link, with the period as it is now.
    var csv = e.target.closest(".export-csv");
    if (csv) { relink(); return; }
    var link = e.target.closest(".export-xlsx");
    if (!link) return;
    e.preventDefault();
    if (link.getAttribute("aria-disabled") === "true") return;
    var item = link.closest(".export-item");
    var box = item.querySelector(".export-progress");
    box.hidden = false;
    box.querySelector("progress").removeAttribute("value");
    box.querySelector(".export-status").textContent = list.dataset.preparing;
    link.setAttribute("aria-disabled", "true");
    fetch(api + "/exports/" + item.dataset.table + ".xlsx" + query(), {
      method: "POST",
      credentials: "same-origin",
      headers: { accept: "application/json", "x-csrf-token": list.dataset.csrf }
    })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (res) {
        if (res.ok && res.j.job_id) { poll(item, res.j.job_id); return; }
        var msg = res.j && res.j.error ? res.j.error.message : "";
        box.querySelector(".export-status").textContent = fill(list.dataset.failed, { reason: msg });
        link.removeAttribute("aria-disabled");
      })
      .catch(function () { link.removeAttribute("aria-disabled"); window.location = link.href; });
  });
})();
