// Live parts of a page: an element with data-poll-url is re-fetched every data-poll-every
// milliseconds (as an htmx request, so the server answers with that part only) and swapped
// in place. The server leaves data-poll-url out once nothing more will change, which stops
// the polling; a hidden tab waits until it is shown again.
(function () {
  "use strict";
  function schedule(el) {
    const url = el.dataset.pollUrl;
    if (!url) return;
    const every = Math.max(1000, parseInt(el.dataset.pollEvery || "3000", 10));
    setTimeout(() => refresh(el.id, url, every), every);
  }
  function refresh(id, url, every) {
    const el = document.getElementById(id);
    if (!el) return;
    if (document.hidden) { setTimeout(() => refresh(id, url, every), every); return; }
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then((r) => { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then((html) => {
        const box = document.createElement("template");
        box.innerHTML = html.trim();
        const fresh = box.content.getElementById(id);
        if (!fresh) throw new Error("no #" + id + " in the answer");
        el.replaceWith(fresh);
        schedule(fresh);
      })
      .catch(() => setTimeout(() => refresh(id, url, every), every * 2));
  }
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-poll-url][id]").forEach(schedule);
  });
})();
