// Review page: a reviewer's queue from the JSON API (labeling/api.py review_queue), each
// item accepted, fixed or sent back for more labels without reloading. Item data reaches the
// page only as text (textContent) or an <img> src checked to be http(s); never as markup.
// Boxes and spans are fixed with the labeling page's own widgets (label_types.js), opened on
// the current answer: the reviewer redraws, reclasses or removes, then presses Fix.
(function () {
  "use strict";
  const root = document.getElementById("reviewer");
  if (!root) return;
  const api = root.dataset.api;
  const taskType = root.dataset.taskType;
  const multi = root.dataset.multi === "true";
  const list = document.getElementById("review-items");
  const empty = document.getElementById("review-empty");
  const more = document.getElementById("review-more");
  const message = document.getElementById("review-message");
  const template = document.getElementById("review-item");
  let labels = [];
  let rules = {};
  let cursor = null;

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrf || "";
  }
  function say(text, kind) {
    message.className = "message" + (kind ? " " + kind : "");
    message.textContent = text;
  }

  async function call(method, path, body) {
    const opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method === "POST") {
      opts.headers["X-CSRFToken"] = csrfToken();
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body || {});
    }
    let resp;
    try {
      resp = await fetch(api + path, opts);
    } catch (e) {
      throw { detail: gettext("Could not reach the server. Check your connection, then try again.") };
    }
    let data = {};
    try { data = await resp.json(); } catch (e) { data = {}; }
    if (!resp.ok) throw { detail: data.detail || interpolate(gettext("The server answered with status %(status)s."), { status: resp.status }, true) };
    return data;
  }

  function safeUrl(url) {
    try {
      const u = new URL(String(url || ""), window.location.origin);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : "";
    } catch (e) {
      return "";
    }
  }

  function answerText(value) {
    if (value === null || value === undefined) return "–";
    if (taskType === "classification" && Array.isArray(value)) return value.join(", ") || gettext("(none)");
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function renderItem(body, item) {
    if (item.kind === "image" && safeUrl(item.image_url)) {
      const img = document.createElement("img");
      img.src = safeUrl(item.image_url);
      img.alt = gettext("The item");
      img.className = "review-image";
      body.append(img);
    } else if (item.kind === "audio" && safeUrl(item.audio_url)) {
      const audio = document.createElement("audio");
      audio.controls = true;
      audio.src = safeUrl(item.audio_url);
      body.append(audio);
    } else if (item.kind === "pair") {
      for (const [name, text] of [[gettext("Prompt"), item.prompt], [gettext("Left"), item.left.text], [gettext("Right"), item.right.text]]) {
        const p = document.createElement("p");
        const b = document.createElement("strong");
        b.textContent = interpolate(gettext("%(name)s:"), { name: name }, true) + " ";
        p.append(b, document.createTextNode(text || ""));
        body.append(p);
      }
    } else {
      const p = document.createElement("p");
      p.className = "item-text";
      p.textContent = item.kind === "row" ? JSON.stringify(item.row) : item.text || "";
      body.append(p);
    }
  }

  // The labeling page's box or span widget, on this item and its current answer. Its keys
  // (a digit for the class, arrows, Delete) act while it has the focus; a click or a drag in
  // it gives it the focus.
  function fixWidget(entry) {
    if (!window.DatadaoLabelTypes || (taskType !== "boxes" && taskType !== "spans")) return null;
    let keyboard = false;
    const ctx = {
      say: (text, kind) => say(text, kind),
      sayError: (text) => say(interpolate(gettext("Error: %(text)s"), { text: text }, true), "error"),
      safeUrl: (url) => safeUrl(url),
      submit: () => {},
      focusWork: () => {},
      keyboardUsed: () => keyboard,
      useKeyboard: () => { keyboard = true; },
    };
    const task = { task_type: taskType, labels: labels, item: entry.item, rules: rules };
    const widget = window.DatadaoLabelTypes.create(task, ctx);
    if (!widget) return null;
    widget.restore(entry.consensus || []);
    const node = widget.node;
    node.tabIndex = 0;
    node.classList.add("review-fix-widget");
    node.setAttribute("aria-label", taskType === "boxes"
      ? gettext("Fix the answer: drag to draw a box, click one to select it, a digit sets its class, Delete removes it")
      : gettext("Fix the answer: select words, then a digit (or a class) marks them; Delete removes a span"));
    node.addEventListener("pointerdown", () => node.focus({ preventScroll: true }), true);
    node.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (widget.onKey(e)) e.preventDefault();
    });
    if (widget.layout) window.addEventListener("resize", () => widget.layout());
    return widget;
  }

  // The fix input in the task type's answer format: the label set for classification, the
  // outcome for pairwise, the text for transcriptions (boxes and spans: ``fixWidget``).
  function fixInput(entry) {
    if (taskType === "classification") {
      const select = document.createElement("select");
      select.className = "review-fix-value";
      select.multiple = multi;
      for (const name of labels) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        option.selected = Array.isArray(entry.consensus) && entry.consensus.includes(name);
        select.append(option);
      }
      return [select, () => (multi ? Array.from(select.selectedOptions, (o) => o.value) : select.value)];
    }
    if (taskType === "pairwise") {
      const select = document.createElement("select");
      select.className = "review-fix-value";
      for (const name of ["left", "right", "tie"]) {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = { left: gettext("left"), right: gettext("right"), tie: gettext("tie") }[name];
        option.selected = entry.consensus === name;
        select.append(option);
      }
      return [select, () => select.value];
    }
    const area = document.createElement("textarea");
    area.className = "review-fix-value";
    area.rows = 2;
    if (taskType === "text") {
      area.value = entry.consensus || "";
      return [area, () => area.value];
    }
    area.value = JSON.stringify(entry.consensus || []);
    return [area, () => JSON.parse(area.value)];
  }

  function decide(li, entry, decision, body) {
    const buttons = li.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    return call("POST", "/" + entry.id + "/" + decision, Object.assign({ settlement: entry.settlement }, body))
      .then((review) => {
        li.remove();
        const words = {
          accept: gettext("Item %(id)s accepted."),
          fix: gettext("Item %(id)s fixed."),
          reject: gettext("Item %(id)s sent back for more labels."),
        };
        say(interpolate(words[review.decision], { id: entry.id }, true), "ok");
        if (!list.children.length) load(null);
      })
      .catch((err) => {
        buttons.forEach((b) => { b.disabled = false; });
        say(interpolate(gettext("Error: %(text)s"), { text: err.detail }, true), "error");
      });
  }

  function show(entry) {
    const li = template.content.firstElementChild.cloneNode(true);
    li.dataset.item = String(entry.id);
    const widget = fixWidget(entry);
    if (widget) {
      // The widget shows the item with its answer drawn on it, and edits it.
      li.querySelector(".review-body").append(widget.node);
      li.querySelector(".review-fix-input").closest(".review-fix-field").hidden = true;
    } else {
      renderItem(li.querySelector(".review-body"), entry.item);
    }
    li.querySelector(".review-consensus").textContent = answerText(entry.consensus);
    li.querySelector(".review-posterior").textContent =
      entry.posterior === null ? "–" : Math.round(entry.posterior * 100) + "%";
    li.querySelector(".review-answers").textContent = entry.answers.map(answerText).join(" · ");
    const [input, value] = widget ? [null, () => widget.value()] : fixInput(entry);
    if (input) li.querySelector(".review-fix-input").append(input);
    li.querySelector(".review-accept").addEventListener("click", () => decide(li, entry, "accept", {}));
    li.querySelector(".review-fix").addEventListener("click", () => {
      let answer;
      try { answer = value(); } catch (e) { say(gettext("Error: the fix is not valid JSON."), "error"); return; }
      decide(li, entry, "fix", { answer: answer });
    });
    li.querySelector(".review-reject").addEventListener("click", () => {
      const n = parseInt(li.querySelector(".review-more-count").value, 10);
      decide(li, entry, "reject", { more: Number.isNaN(n) ? 1 : n });
    });
    list.append(li);
  }

  async function load(after) {
    list.setAttribute("aria-busy", "true");
    try {
      const query = "?limit=" + encodeURIComponent(root.dataset.pageSize) + (after ? "&after=" + encodeURIComponent(after) : "");
      const page = await call("GET", query);
      labels = page.labels;
      rules = page.rules || {};
      if (!after) list.replaceChildren();
      page.items.forEach(show);
      cursor = page.next;
      more.hidden = !cursor;
      empty.hidden = list.children.length > 0;
    } catch (err) {
      say(interpolate(gettext("Error: %(text)s"), { text: err.detail }, true), "error");
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }

  more.addEventListener("click", () => load(cursor));
  load(null);
})();
