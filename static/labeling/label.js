// Labeling page: one item at a time from the JSON API (labeling/api.py), driven from the
// keyboard, never reloading the page. Item data only ever reaches the page as text
// (textContent) or as an <img> src checked to be http(s); never as markup.
(function () {
  "use strict";
  // Which key picks which label: labeling/keys.py's rule, for label sets the API sends. When
  // every label is a single character of its own, the key is the label; otherwise the buttons
  // are numbered 1-9, 0. The page's shortcuts (S, U, ?) never go to a label.
  const NUMBER_KEYS = "1234567890";
  const RESERVED = "sSuU?+=-_";
  const KEYS_HINT = gettext("(press the key shown on a label)");
  const els = {};
  let root = null;
  let api = "";
  let multi = false;
  let current = null; // { hold, shownAt, expiresAt, labels }
  let busy = false;
  let lastAnswer = null; // pre-selected again after an undo
  let expiryTimer = null;
  let clockOffset = 0; // server time minus this browser's time, from the Date header
  let sayToken = 0;
  // The item's widget for the task types beyond classification (label_types.js), else null.
  let widget = null;
  let keyboardUsed = false; // spans: show the word cursor once the arrow keys are used
  const widgetContext = {
    say: (text, kind) => say(text, kind),
    sayError: (text) => sayError(text),
    safeUrl: (url) => safeUrl(url),
    submit: () => run(submit),
    focusWork: () => moveFocusToWork(),
    keyboardUsed: () => keyboardUsed,
    useKeyboard: () => { keyboardUsed = true; },
  };

  function csrfToken() {
    const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrf || "";
  }

  // Clear first, then set: a live region does not re-announce text that did not change.
  function say(text, kind) {
    const token = ++sayToken;
    els.message.textContent = "";
    els.message.className = "message" + (kind ? " " + kind : "");
    setTimeout(() => { if (token === sayToken) els.message.textContent = text; }, 30);
  }
  function sayError(text) { say(interpolate(gettext("Error: %(text)s"), { text: text }, true), "error"); }

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
      throw { status: 0, error: "network", detail: gettext("Could not reach the server. Check your connection, then try again.") };
    }
    const date = Date.parse(resp.headers.get("Date") || "");
    if (!Number.isNaN(date)) clockOffset = date - Date.now();
    let data = {};
    try { data = await resp.json(); } catch (e) { data = {}; }
    if (!resp.ok) {
      throw {
        status: resp.status,
        error: data.error || "http_" + resp.status,
        detail: data.detail || interpolate(gettext("The server answered with status %(status)s."), { status: resp.status }, true),
      };
    }
    return data;
  }

  // One request at a time: a second key press while one is in flight is ignored.
  async function run(fn) {
    if (busy) return;
    busy = true;
    els.form.setAttribute("aria-busy", "true");
    try { await fn(); } finally {
      busy = false;
      els.form.setAttribute("aria-busy", "false");
    }
  }

  function showProgress(p) {
    if (!p) return;
    els.doneToday.textContent = String(p.done_today);
    els.doneTotal.textContent = String(p.done_total);
    els.gold.textContent = p.gold_accuracy === null || p.gold_accuracy === undefined
      ? interpolate(gettext("shown once you have answered %(gold_window)s check questions"), { gold_window: els.gold.dataset.window }, true)
      : interpolate(gettext("%(percent)s% of %(answered)s"), { percent: Math.round(p.gold_accuracy * 100), answered: p.gold_answered }, true);
  }

  function moveFocusIfLost(target) {
    const active = document.activeElement;
    if (!active || active === document.body || active.closest("[hidden]")) target.focus({ preventScroll: true });
  }

  // --- Panels ------------------------------------------------------------------------------
  function showEmpty(text) {
    current = null;
    stopExpiry();
    els.emptyText.textContent = text;
    els.work.hidden = true;
    els.empty.hidden = false;
    moveFocusIfLost(els.empty);
  }
  function showPaused(text) {
    showEmpty(text + " " + gettext("Ask an admin of the DAO to resume you; then press Check again."));
  }

  function showTask(task) {
    current = {
      hold: task.hold,
      shownAt: performance.now(),
      expiresAt: Date.parse(task.expires_at),
    };
    const typed = task.task_type && task.task_type !== "classification" && window.DatadaoLabelTypes;
    widget = typed ? window.DatadaoLabelTypes.create(task, widgetContext) : null;
    els.form.querySelector("fieldset").hidden = Boolean(widget);
    if (widget) {
      els.zoom.hidden = true;
      els.itemBody.replaceChildren(widget.node);
    } else {
      ensureChoices(task.labels || [], Boolean(task.multi_choice));
      clearSelection();
      renderItem(task.item || {});
    }
    showSuggestion(task.suggestion);
    els.empty.hidden = true;
    els.work.hidden = false;
    els.item.setAttribute("aria-busy", "false");
    startExpiry();
    if (widget && widget.focus) widget.focus();
    else moveFocusIfLost(els.item);
  }

  // A model's pre-label, when the server sends one: already selected (or drawn), so Enter
  // accepts it and any key or click corrects it. Never shown on some items, whatever they are.
  function showSuggestion(suggestion) {
    const value = suggestion ? suggestion.value : null;
    els.suggestion.hidden = value === null;
    if (value === null) {
      els.suggestion.textContent = "";
      return;
    }
    if (widget) widget.restore(value);
    else preselect(value);
    els.suggestion.textContent = typeof suggestion.score === "number"
      ? interpolate(gettext("A model suggests: %(value)s (%(percent)s% sure). Press Enter to accept it, or correct it first."), { value: describe(value), percent: Math.round(suggestion.score * 100) }, true)
      : interpolate(gettext("A model suggests: %(value)s. Press Enter to accept it, or correct it first."), { value: describe(value) }, true);
  }

  // --- The item ----------------------------------------------------------------------------
  function safeUrl(url) {
    try {
      const u = new URL(String(url || ""), window.location.origin);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : "";
    } catch (e) {
      return "";
    }
  }

  function cellText(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function renderItem(item) {
    const body = els.itemBody;
    body.replaceChildren();
    els.zoom.hidden = item.kind !== "image";
    if (item.kind === "image") {
      const wrap = document.createElement("div");
      wrap.className = "item-image-wrap";
      const img = document.createElement("img");
      img.className = "item-image";
      img.alt = gettext("Item to label");
      img.decoding = "async";
      img.addEventListener("error", () => sayError(gettext("The image could not be loaded. Press S to skip it if it stays blank.")));
      img.addEventListener("load", () => layoutImage());
      img.src = safeUrl(item.image_url);
      wrap.append(img);
      body.append(wrap);
    } else if (item.kind === "row") {
      const wrap = document.createElement("div");
      wrap.className = "table-scroll";
      const table = document.createElement("table");
      table.className = "item-row";
      const caption = document.createElement("caption");
      caption.className = "sr-only";
      caption.textContent = gettext("Fields of the row to label");
      const tbody = document.createElement("tbody");
      Object.entries(item.row || {}).forEach(([key, value]) => {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = key;
        const td = document.createElement("td");
        td.textContent = cellText(value);
        tr.append(th, td);
        tbody.append(tr);
      });
      table.append(caption, tbody);
      wrap.append(table);
      body.append(wrap);
    } else {
      const p = document.createElement("p");
      p.className = "item-text";
      p.textContent = item.text || "";
      if (!item.text) {
        p.classList.add("muted");
        p.textContent = gettext("(This item has no text. Skip it with S.)");
      }
      body.append(p);
    }
  }

  // --- Image size and zoom ------------------------------------------------------------------
  // A small image (a 32x32 digit) is scaled up by a whole factor to about SMALL_TARGET_PX with
  // crisp pixels; a large one is fitted to the box. + and - (or the buttons) zoom from there,
  // and the zoom carries over to the next items.
  const SMALL_TARGET_PX = 320;
  const ZOOM_STEP = 1.25;
  const ZOOM_MIN = 0.25;
  const ZOOM_MAX = 16;
  let zoom = 1; // relative to the automatic size

  function autoScale(w, h, boxWidth) {
    const fit = Math.min(1, boxWidth / w, (window.innerHeight * 0.7) / h);
    if (fit < 1 || Math.max(w, h) >= SMALL_TARGET_PX) return fit;
    return Math.max(1, Math.floor(Math.min(SMALL_TARGET_PX, boxWidth) / Math.max(w, h)));
  }

  function layoutImage() {
    const img = els.itemBody.querySelector("img.item-image");
    if (!img || !img.naturalWidth) return;
    const w = img.naturalWidth;
    const h = img.naturalHeight;
    const base = autoScale(w, h, img.parentElement.clientWidth || SMALL_TARGET_PX);
    let scale = base * zoom;
    if (base >= 1) scale = Math.max(1, Math.round(scale)); // whole factors keep pixels even
    img.style.width = Math.round(w * scale) + "px";
    img.style.height = Math.round(h * scale) + "px";
    img.classList.toggle("pixelated", scale > 1);
    img.dataset.scale = String(scale);
    els.zoomLevel.textContent = Math.round(scale * 100) + "%";
  }

  function setZoom(factor) {
    zoom = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, zoom * factor));
    try { localStorage.setItem("datadao.label.zoom", String(zoom)); } catch (e) { /* private mode */ }
    layoutImage();
    say(interpolate(gettext("Zoom %(level)s."), { level: els.zoomLevel.textContent }, true));
  }

  // --- Choices -----------------------------------------------------------------------------
  function keysFor(labels) {
    const own = labels.map(String);
    const single = own.length > 0
      && own.every((k) => k.length === 1 && k.trim() === k && !RESERVED.includes(k))
      && new Set(own).size === own.length;
    return single ? own : own.map((_, i) => NUMBER_KEYS[i] || "");
  }

  // The choice a key press means: the key shown on it, exactly; else the one label whose key
  // differs only in case (so "a" picks "A" without Shift).
  function choiceForKey(key) {
    if (key.length !== 1) return -1;
    const keys = choiceEls().map((el) => (multi ? el.querySelector("input") : el).dataset.key || "");
    const exact = keys.indexOf(key);
    if (exact >= 0) return exact;
    const folded = keys.map((k) => k.toLowerCase());
    const i = folded.indexOf(key.toLowerCase());
    return i >= 0 && folded.lastIndexOf(key.toLowerCase()) === i ? i : -1;
  }

  function choiceEls() { return Array.from(els.choices.querySelectorAll(".choice")); }
  function valueOf(el) { return multi ? el.querySelector("input").value : el.value; }

  function ensureChoices(labels, isMulti) {
    const now = choiceEls().map(valueOf);
    if (isMulti === multi && now.length === labels.length && now.every((v, i) => v === labels[i])) return;
    multi = isMulti;
    els.legend.textContent = (multi ? gettext("Tick every label that applies") : gettext("Pick one label")) + " ";
    const hint = document.createElement("span");
    hint.className = "muted";
    hint.textContent = KEYS_HINT;
    els.legend.append(hint);
    const keys = keysFor(labels);
    els.choices.replaceChildren(...labels.map((name, i) => buildChoice(String(name), keys[i])));
  }

  function kbd(text) {
    const k = document.createElement("kbd");
    k.textContent = text;
    return k;
  }

  function buildChoice(name, key) {
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    if (multi) {
      const wrap = document.createElement("label");
      wrap.className = "choice";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "label";
      input.value = name;
      input.dataset.key = key;
      wrap.append(input, " ");
      if (key) wrap.append(kbd(key), " ");
      wrap.append(label);
      return wrap;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.name = "label";
    button.value = name;
    button.dataset.key = key;
    button.setAttribute("aria-pressed", "false");
    if (key) button.append(kbd(key), " ");
    const tick = document.createElement("span");
    tick.className = "tick";
    tick.setAttribute("aria-hidden", "true");
    tick.textContent = " ✓";
    button.append(label, tick);
    return button;
  }

  function selection() {
    if (multi) return choiceEls().map((el) => el.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    const pressed = els.choices.querySelector('button[aria-pressed="true"]');
    return pressed ? [pressed.value] : [];
  }

  function setPressed(button) {
    choiceEls().forEach((b) => b.setAttribute("aria-pressed", b === button ? "true" : "false"));
  }

  function clearSelection() {
    if (multi) choiceEls().forEach((el) => { el.querySelector("input").checked = false; });
    else setPressed(null);
  }

  function preselect(value) {
    if (value === null) return;
    const wanted = Array.isArray(value) ? value : [value];
    choiceEls().forEach((el) => {
      const on = wanted.includes(valueOf(el));
      if (multi) el.querySelector("input").checked = on;
      else if (on) setPressed(el);
    });
  }

  function pickIndex(i) {
    const el = choiceEls()[i];
    if (!el) return;
    if (multi) {
      const input = el.querySelector("input");
      input.checked = !input.checked;
      say(interpolate(input.checked ? gettext("Ticked: %(label)s") : gettext("Unticked: %(label)s"), { label: input.value }, true));
    } else {
      setPressed(el);
      say(interpolate(gettext("Selected: %(label)s. Press Enter to submit."), { label: el.value }, true));
    }
  }

  function describe(value) {
    if (widget) return widget.describe(value);
    return Array.isArray(value) ? value.join(", ") : String(value);
  }

  // --- Hold expiry -------------------------------------------------------------------------
  function stopExpiry() {
    if (expiryTimer !== null) clearInterval(expiryTimer);
    expiryTimer = null;
    els.expiry.textContent = "";
  }
  function startExpiry() {
    stopExpiry();
    if (Number.isNaN(current.expiresAt)) return;
    tick();
    expiryTimer = setInterval(tick, 1000);
  }
  function tick() {
    if (!current) return;
    const left = Math.round((current.expiresAt - (Date.now() + clockOffset)) / 1000);
    if (left > 60) {
      els.expiry.textContent = interpolate(gettext("Held for you for about %(minutes)s more minutes."), { minutes: Math.ceil(left / 60) }, true);
      els.expiry.className = "muted";
    } else if (left > 0) {
      els.expiry.textContent = interpolate(gettext("Held for you for %(seconds)s more seconds."), { seconds: left }, true);
      els.expiry.className = "soon";
    } else {
      const hold = current.hold;
      stopExpiry();
      run(async () => {
        await fetchNext(gettext("Time ran out on that item, so it went back to the pool. Here is a fresh one."));
        // The same hold again means the server still counts it as live (clocks disagree):
        // keep it, and stop the countdown rather than ask again and again.
        if (current && current.hold === hold) stopExpiry();
      });
    }
  }

  // --- Actions -----------------------------------------------------------------------------
  function handleError(err, fromNext) {
    if (err.status === 401) {
      showEmpty(gettext("You are signed out. Sign in again with the button at the top of the page, then press Check again."));
      sayError(err.detail);
    } else if (err.error === "paused") {
      showPaused(err.detail);
      sayError(err.detail);
    } else if (fromNext && err.status) {
      showEmpty(err.detail);
      sayError(err.detail);
    } else {
      if (!current && err.status === 0) showEmpty(gettext("The next item could not be loaded."));
      sayError(err.detail);
    }
  }

  async function fetchNext(note) {
    els.item.setAttribute("aria-busy", "true");
    try {
      const data = await call("GET", "next");
      showProgress(data.progress);
      if (data.task) {
        showTask(data.task);
        const hint = els.suggestion.hidden ? "" : " " + els.suggestion.textContent;
        say((note || gettext("New item to label.")) + hint);
      } else {
        const text = data.detail || gettext("Nothing left for you to label here right now. Thank you!");
        showEmpty(text + " " + gettext("New items may arrive later; press Check again."));
        say(note ? note + " " + text : text);
      }
    } catch (err) {
      handleError(err, true);
    }
  }

  // A hold that went stale (expired, already answered elsewhere): explain, then move on.
  async function afterRefusal(err) {
    if (err.status === 404 || err.status === 409) {
      await fetchNext(interpolate(gettext("Error: %(detail)s Moving on."), { detail: err.detail }, true));
    } else {
      handleError(err, false);
    }
  }

  async function submit() {
    if (!current) return;
    let value;
    if (widget) {
      value = widget.value();
      if (value === null || value === undefined) {
        say(widget.emptyHint || gettext("Answer first."), "hint");
        return;
      }
    } else {
      const values = selection();
      if (!values.length) {
        say(gettext("Pick a label first: press its number or click it."), "hint");
        return;
      }
      value = multi ? values : values[0];
    }
    const duration = Math.max(0, Math.round(performance.now() - current.shownAt));
    try {
      const data = await call("POST", "holds/" + encodeURIComponent(current.hold) + "/label", { label: value, duration_ms: duration });
      lastAnswer = value;
      showProgress(data.progress);
      if (data.progress && data.progress.paused) {
        showPaused(interpolate(gettext("You are paused on this dataset: %(reason)s"), { reason: data.progress.paused_reason }, true));
        say(interpolate(gettext("Saved “%(value)s”. You are now paused on this dataset."), { value: describe(value) }, true));
        return;
      }
      await fetchNext(interpolate(gettext("Saved “%(value)s”. Next item loaded."), { value: describe(value) }, true));
    } catch (err) {
      await afterRefusal(err);
    }
  }

  async function skip() {
    if (!current) return;
    try {
      await call("POST", "holds/" + encodeURIComponent(current.hold) + "/skip");
      await fetchNext(gettext("Skipped. Next item loaded."));
    } catch (err) {
      await afterRefusal(err);
    }
  }

  async function undo() {
    try {
      const data = await call("POST", "undo");
      showTask(data.task);
      if (widget) widget.restore(lastAnswer);
      else preselect(lastAnswer);
      lastAnswer = null;
      say(gettext("Your last answer was taken back. Answer this item again and press Enter."));
      showProgress(await call("GET", "me"));
    } catch (err) {
      if (err.error === "paused" || err.status === 401) handleError(err, false);
      else sayError(err.detail);
    }
  }

  // The help never takes the keyboard: it opens and closes where it is, focus stays on the
  // work, and the change is said aloud.
  function setHelp(open) {
    if (els.help.open !== open) els.help.open = open;
    if (!open && els.help.contains(document.activeElement)) moveFocusToWork();
  }
  function moveFocusToWork() {
    (els.work.hidden ? els.empty : els.item).focus({ preventScroll: true });
  }

  // --- Keyboard ----------------------------------------------------------------------------
  function typing(el) {
    if (!el || !el.tagName) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    if (el.tagName === "INPUT") return !["checkbox", "radio", "button", "submit", "reset"].includes(el.type);
    return false;
  }

  function onKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    const key = e.key;
    if (key === "?") { e.preventDefault(); setHelp(!els.help.open); return; }
    if (key === "Escape" && els.help.open) { e.preventDefault(); setHelp(false); return; }
    if (e.repeat) return;
    if (key === "u" || key === "U") { e.preventDefault(); run(undo); return; }
    if (!current || els.work.hidden) return;
    if (widget && widget.onKey(e)) { e.preventDefault(); return; }
    const choice = widget ? -1 : choiceForKey(key);
    if (choice >= 0) { e.preventDefault(); pickIndex(choice); return; }
    if (key === "s" || key === "S") { e.preventDefault(); run(skip); return; }
    if (!els.zoom.hidden && (key === "+" || key === "=")) { e.preventDefault(); setZoom(ZOOM_STEP); return; }
    if (!els.zoom.hidden && (key === "-" || key === "_")) { e.preventDefault(); setZoom(1 / ZOOM_STEP); return; }
    if (key === "Enter") {
      const t = e.target;
      const choice = t.classList && t.classList.contains("choice") ? t : null;
      // Enter keeps its own meaning on links and the other buttons, and on the help toggle
      // unless an answer is waiting to be sent: then it sends the answer.
      if (t.closest && t.closest("a")) return;
      if (t.closest && t.closest("summary") && !selection().length) return;
      if (t.tagName === "BUTTON" && !choice && t.id !== "label-submit") return;
      e.preventDefault();
      if (choice && !multi && !selection().length) setPressed(choice);
      run(submit);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    root = document.getElementById("labeler");
    if (!root) return;
    api = root.dataset.api;
    multi = root.dataset.multi === "true";
    const byId = (id) => document.getElementById(id);
    Object.assign(els, {
      message: byId("label-message"),
      doneToday: byId("done-today"),
      doneTotal: byId("done-total"),
      gold: byId("gold-accuracy"),
      empty: byId("label-empty"),
      emptyText: byId("label-empty-text"),
      work: byId("label-work"),
      item: byId("label-item"),
      itemBody: byId("item-body"),
      expiry: byId("hold-expiry"),
      suggestion: byId("label-suggestion"),
      form: byId("label-form"),
      legend: byId("label-form").querySelector("legend"),
      choices: byId("label-choices"),
      help: byId("label-help"),
      zoom: byId("item-zoom"),
      zoomLevel: byId("zoom-level"),
    });
    try { zoom = Number(localStorage.getItem("datadao.label.zoom")) || 1; } catch (e) { zoom = 1; }
    zoom = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, zoom));
    byId("zoom-in").addEventListener("click", () => setZoom(ZOOM_STEP));
    byId("zoom-out").addEventListener("click", () => setZoom(1 / ZOOM_STEP));
    // A mouse click on a zoom button leaves the focus where it was: left on the button, the
    // next Enter would zoom again instead of sending the answer.
    els.zoom.addEventListener("mousedown", (e) => { if (e.target.closest("button")) e.preventDefault(); });
    window.addEventListener("resize", () => {
      layoutImage();
      if (widget && widget.layout) widget.layout();
    });
    els.empty.tabIndex = -1;
    els.form.addEventListener("submit", (e) => { e.preventDefault(); run(submit); });
    els.choices.addEventListener("click", (e) => {
      const button = e.target.closest("button.choice");
      if (!button) return;
      setPressed(button);
      say(interpolate(gettext("Selected: %(label)s. Press Enter or Submit."), { label: button.value }, true));
    });
    byId("label-skip").addEventListener("click", () => run(skip));
    byId("label-undo").addEventListener("click", () => run(undo));
    byId("label-undo-empty").addEventListener("click", () => run(undo));
    byId("label-retry").addEventListener("click", () => run(() => fetchNext()));
    els.help.addEventListener("toggle", () => {
      say(els.help.open ? gettext("Keyboard help shown. Press ? or Escape to hide it.") : gettext("Keyboard help hidden."));
    });
    // A click on the help's toggle leaves the focus on the work, not on the toggle, where
    // Enter would open and close the help instead of sending the answer.
    els.help.querySelector("summary").addEventListener("click", (e) => {
      if (e.detail > 0) setTimeout(() => { if (els.help.contains(document.activeElement)) moveFocusToWork(); }, 0);
    });
    document.addEventListener("keydown", onKey);
    if (root.dataset.state === "paused") return; // wait for "Check again"
    run(() => fetchNext());
  });
})();
