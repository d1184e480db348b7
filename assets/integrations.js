// The integrations page (Google Sheets): follows a running sync's job
// (GET /c/<slug>/api/v1/jobs/<id>) with the progress bar, and lets the
// time of a daily schedule be typed only when "every day" is chosen. The page works
// without it (a refresh shows the result).
(function () {
  "use strict";

  var box = document.getElementById("sh-progress");
  var url = box && box.getAttribute("data-job");
  if (url) {
    var bar = box.querySelector("progress");
    var text = document.getElementById("sh-progress-text");
    var of = box.getAttribute("data-of") || "{done} / {total}";
    var poll = function () {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (job) {
          if (job.percent !== null && job.percent !== undefined) bar.value = job.percent;
          if (job.total > 0) text.textContent = of.replace("{done}", job.done).replace("{total}", job.total);
          if (job.state === "running") {
            window.setTimeout(poll, 1000);
          } else {
            // The page shows the stored result (rows, or the error).
            text.textContent = job.state === "done" ? box.getAttribute("data-done") : (job.error || box.getAttribute("data-failed"));
            window.setTimeout(function () { location.replace(location.pathname); }, 600);
          }
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    poll();
  }

  document.querySelectorAll("form.sh-form").forEach(function (form) {
    var at = form.querySelector("input[name=at]");
    if (!at) return;
    var sync = function () {
      var chosen = form.querySelector("input[name=every]:checked");
      at.disabled = !(chosen && chosen.value === "daily");
    };
    form.addEventListener("change", sync);
    sync();
  });
})();
