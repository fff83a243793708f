// Upload widget: several files, drag and drop, a progress bar per file, then live status.
(function () {
  "use strict";
  const FINAL = ["pinned", "rejected", "failed"];
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function row(file) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", "Upload progress of " + file.name);
    const status = document.createElement("span");
    status.className = "status";
    status.textContent = "waiting";
    li.append(name, " ", bar, " ", status);
    document.getElementById("upload-list").append(li);
    return { li, bar, status };
  }
  function describe(body) {
    let text = body.status;
    if (body.status === "pinned") text += " — CID " + body.cid;
    if (body.reasons && body.reasons.length) text += " — " + body.reasons.join("; ");
    if (body.failure) text += " — " + body.failure;
    return text;
  }
  function poll(id, ui) {
    fetch("/api/contributions/" + id, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((body) => {
        ui.status.textContent = describe(body);
        ui.li.dataset.status = body.status;
        if (!FINAL.includes(body.status)) setTimeout(() => poll(id, ui), 1000);
      })
      .catch(() => setTimeout(() => poll(id, ui), 3000));
  }
  function send(url, file) {
    const ui = row(file);
    const form = new FormData();
    form.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) ui.bar.value = (100 * e.loaded) / e.total; };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = { detail: xhr.responseText }; }
      if (xhr.status === 201) {
        ui.bar.value = 100;
        ui.status.textContent = body.status;
        poll(body.id, ui);
      } else {
        ui.status.textContent = "refused — " + (body.detail || xhr.status);
        ui.li.dataset.status = "refused";
      }
    };
    xhr.onerror = () => { ui.status.textContent = "network error"; };
    xhr.send(form);
  }
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("upload");
    if (!form) return;
    const input = document.getElementById("upload-files");
    const zone = document.getElementById("dropzone");
    const start = (files) => Array.from(files).forEach((f) => send(form.dataset.url, f));
    form.addEventListener("submit", (e) => { e.preventDefault(); start(input.files); input.value = ""; });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); start(e.dataTransfer.files); });
  });
})();
