// The console's only script: countdowns that tick, and a board that reloads its rows.
// Without it every page still works (forms post, the board filters, the page can be reloaded).
(function () {
  "use strict";
  // The server's clock, not the browser's: a deadline is compared with the time the server
  // says it is, moved on by the time elapsed since the page (or the rows) came.
  let offset = 0;
  function syncClock(el) {
    const now = el && el.dataset.now ? Date.parse(el.dataset.now) : NaN;
    if (!isNaN(now)) offset = now - Date.now();
  }
  function pad(n) { return String(n).padStart(2, "0"); }
  function format(ms) {
    const s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    const text = (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(s % 60);
    return (ms < 0 ? "−" : "") + text;
  }
  function tick() {
    const now = Date.now() + offset;
    document.querySelectorAll("time.countdown").forEach(function (el) {
      const left = Date.parse(el.getAttribute("datetime")) - now;
      el.textContent = format(left);
      el.classList.toggle("overdue", left < 0);
    });
  }
  function reloadBoard(form) {
    const rows = document.getElementById("board-rows");
    if (!rows || document.hidden) return;
    fetch("/console/cases/table", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)),
    }).then(function (r) {
      if (r.status === 401 || r.redirected) { window.location = "/console/sign-in"; return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      const current = document.getElementById("board-rows");
      current.outerHTML = html;
      syncClock(document.getElementById("board-rows"));
      tick();
    }).catch(function () { /* the next round tries again */ });
  }
  document.addEventListener("DOMContentLoaded", function () {
    syncClock(document.querySelector("[data-now]"));
    tick();
    setInterval(tick, 1000);
    const filters = document.getElementById("board-filters");
    if (filters) setInterval(function () { reloadBoard(filters); }, 3000);
  });
})();
