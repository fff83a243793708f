// Upload widget: several files, drag and drop, a progress bar per file, then live status.
// Optionally each file is signed first with the wallet (EIP-191 personal_sign of
// "datadao-contribution:{site}:{dataset}:{sha256}", site being this platform's host), which
// proves ownership and earns full authenticity and ownership scores.
(function () {
  "use strict";
  const FINAL = ["pinned", "rejected", "failed"];
  // A contribution's status as the person reads it (contributions.models.Status).
  const STATUS_TEXT = {
    received: pgettext("contribution status", "received"),
    validating: pgettext("contribution status", "validating"),
    rejected: pgettext("contribution status", "rejected"),
    accepted: pgettext("contribution status", "accepted"),
    pinning: pgettext("contribution status", "pinning"),
    pinned: pgettext("contribution status", "pinned"),
    failed: pgettext("contribution status", "failed"),
    attesting: pgettext("contribution status", "awaiting validators"),
    held: pgettext("contribution status", "held: validators disagree"),
  };
  function statusText(status) { return STATUS_TEXT[status] || status; }
  // The browser hashes a whole file in memory (Web Crypto has no streaming digest).
  const SIGN_MAX_BYTES = 512 * 1024 * 1024;
  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function row(file) {
    const li = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    bar.setAttribute("aria-label", interpolate(gettext("Upload progress of %(name)s"), { name: file.name }, true));
    const status = document.createElement("span");
    status.className = "status";
    status.textContent = gettext("waiting");
    li.append(name, " ", bar, " ", status);
    document.getElementById("upload-list").append(li);
    return { li, bar, status };
  }
  function describe(body) {
    let text = statusText(body.status);
    if (body.status === "pinned") text += " — CID " + body.cid;
    if (body.reasons && body.reasons.length) text += " — " + body.reasons.join("; ");
    if (body.failure) text += " — " + body.failure;
    return text;
  }
  function link(ui, id) {
    if (ui.li.querySelector("a.details")) return;
    const a = document.createElement("a");
    a.className = "details";
    a.href = "/me/contributions/" + id;
    a.textContent = gettext("details");
    ui.li.append(" ", a);
  }
  function poll(id, ui) {
    fetch("/api/contributions/" + id, { credentials: "same-origin" })
      .then((r) => r.json())
      .then((body) => {
        ui.status.textContent = describe(body);
        ui.li.dataset.status = body.status;
        link(ui, id);
        if (!FINAL.includes(body.status)) setTimeout(() => poll(id, ui), 1000);
      })
      .catch(() => setTimeout(() => poll(id, ui), 3000));
  }
  // A refusal is shown in red (CSS on data-status) with the server's reason, and announced:
  // the list is an aria-live region.
  function refuse(ui, text) {
    ui.status.textContent = text;
    ui.status.setAttribute("role", "alert");
    ui.li.dataset.status = "refused";
  }
  function refusal(xhr) {
    // The API answers refusals as {"error": code, "detail": message}; anything else (a proxy's
    // page, an empty body) is shown by its status.
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
    const refused = (reason) => interpolate(gettext("refused — %(reason)s"), { reason: reason }, true);
    if (body && body.detail) return refused(body.detail);
    if (body && body.error) return refused(body.error);
    if (xhr.status === 413) return gettext("refused — the file is larger than this site accepts");
    return interpolate(gettext("refused — the server answered %(status)s"), { status: (xhr.status + " " + xhr.statusText).trim() }, true);
  }
  async function sign(form, file, ui) {
    if (file.size > SIGN_MAX_BYTES) { ui.note = " " + gettext("(too large to sign in the browser: unsigned)"); return ""; }
    ui.status.textContent = gettext("hashing to sign");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
    const message = "datadao-contribution:" + form.dataset.site + ":" + form.dataset.datasetId
      + ":" + hex(digest);
    ui.status.textContent = gettext("waiting for your wallet's signature");
    return window.ethereum.request({
      method: "personal_sign",
      params: ["0x" + hex(new TextEncoder().encode(message)), form.dataset.address],
    });
  }
  function send(url, file, ui, signature) {
    const form = new FormData();
    form.append("file", file);
    if (signature) form.append("signature", signature);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) ui.bar.value = (100 * e.loaded) / e.total; };
    xhr.onload = () => {
      if (xhr.status === 201) {
        let body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        ui.bar.value = 100;
        ui.status.textContent = statusText(body.status);
        poll(body.id, ui);
      } else {
        refuse(ui, refusal(xhr));
      }
    };
    xhr.onerror = () => {
      refuse(ui, gettext("not sent — the connection failed (network error); try again"));
      ui.li.dataset.status = "error";
    };
    ui.status.textContent = (signature ? gettext("uploading (signed)") : gettext("uploading")) + (ui.note || "");
    xhr.send(form);
  }
  async function start(form, files, signing) {
    const list = Array.from(files);
    const rows = list.map(row);
    // Signatures are asked one at a time (a wallet shows one request at once); each upload
    // starts as soon as its file is signed and runs alongside the others.
    for (let i = 0; i < list.length; i++) {
      let signature = "";
      if (signing) {
        try {
          signature = await sign(form, list[i], rows[i]);
        } catch (err) {
          refuse(rows[i], err && err.code === 4001
            ? gettext("not sent — you declined to sign it in your wallet (untick “Sign” to send it unsigned)")
            : gettext("not sent — the wallet could not sign it"));
          continue;
        }
      }
      send(form.dataset.url, list[i], rows[i], signature);
    }
  }
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("upload");
    if (!form) return;
    const input = document.getElementById("upload-files");
    const zone = document.getElementById("dropzone");
    const signBox = document.getElementById("upload-sign");
    if (signBox && !(window.ethereum && window.crypto && crypto.subtle)) {
      signBox.checked = false;
      signBox.disabled = true;
      document.getElementById("upload-sign-note").textContent =
        window.ethereum ? gettext("Signing needs a secure (HTTPS) page.") : gettext("No wallet in this browser: files are sent unsigned.");
    }
    const go = (files) => start(form, files, Boolean(signBox && signBox.checked));
    form.addEventListener("submit", (e) => { e.preventDefault(); go(input.files); input.value = ""; });
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); go(e.dataTransfer.files); });
  });
})();
