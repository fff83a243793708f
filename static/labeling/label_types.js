// Widgets of the labeling task types beyond classification, used by label.js: boxes on an
// image (draw with the mouse, select, nudge with the arrow keys, Delete, a digit sets the
// class), spans of a text (select words with the mouse or the keyboard, a digit gives the
// class), a comparison of two candidates (buttons or 1/2/3 and the arrow keys) and a
// transcription (a text area). Item data reaches the page as text only, never as markup.
(function () {
  "use strict";
  const NUMBER_KEYS = "1234567890";

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function kbd(text) { return el("kbd", "", text); }

  // The class palette of boxes and spans: a digit (or a click) picks the current class.
  function palette(labels, onPick) {
    const wrap = el("div", "type-palette");
    wrap.setAttribute("role", "group");
    wrap.setAttribute("aria-label", gettext("Class"));
    const buttons = labels.map((name, i) => {
      const b = el("button", "choice");
      b.type = "button";
      b.value = name;
      b.dataset.index = String(i);
      b.setAttribute("aria-pressed", i === 0 ? "true" : "false");
      if (NUMBER_KEYS[i]) b.append(kbd(NUMBER_KEYS[i]), " ");
      b.append(el("span", "name", name));
      b.addEventListener("click", () => onPick(i));
      b.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus on the work
      return b;
    });
    wrap.append(...buttons);
    return {
      node: wrap,
      set(i) { buttons.forEach((b, j) => b.setAttribute("aria-pressed", i === j ? "true" : "false")); },
    };
  }

  function digitIndex(e, count) {
    if (e.key.length !== 1) return -1;
    const i = NUMBER_KEYS.indexOf(e.key);
    return i >= 0 && i < count ? i : -1;
  }

  // --- boxes ---------------------------------------------------------------------------------
  function boxesWidget(task, ctx) {
    const labels = task.labels || [];
    const item = task.item || {};
    let boxes = []; // {x, y, w, h, label} in image pixels
    let selected = -1;
    let current = 0;
    let natural = { w: item.width || 0, h: item.height || 0 };
    const root = el("div", "box-editor");
    const stage = el("div", "box-stage");
    const img = el("img", "box-image");
    img.alt = gettext("Image: draw a box around each object");
    img.draggable = false;
    const layer = el("div", "box-layer");
    layer.setAttribute("role", "application");
    layer.setAttribute("aria-label", gettext("Drawing area: drag to draw a box"));
    stage.append(img, layer);
    const pal = palette(labels, (i) => pick(i));
    const list = el("ol", "box-list");
    list.setAttribute("aria-label", gettext("Your boxes"));
    root.append(pal.node, stage, list);
    img.addEventListener("load", () => {
      natural = { w: img.naturalWidth, h: img.naturalHeight };
      draw();
    });
    img.addEventListener("error", () => ctx.sayError(gettext("The image could not be loaded. Press S to skip it if it stays blank.")));
    img.src = ctx.safeUrl(item.image_url);

    function scale() { return natural.w ? img.clientWidth / natural.w : 1; }
    function clamp(b) {
      const W = natural.w || Infinity;
      const H = natural.h || Infinity;
      const x = Math.min(Math.max(b.x, 0), W - 1);
      const y = Math.min(Math.max(b.y, 0), H - 1);
      return { x: x, y: y, w: Math.max(1, Math.min(b.w, W - x)), h: Math.max(1, Math.min(b.h, H - y)), label: b.label };
    }
    function round(v) { return Math.floor(v * 10) / 10; }

    function draw() {
      layer.replaceChildren();
      const s = scale();
      boxes.forEach((b, i) => {
        const node = el("div", "box" + (i === selected ? " selected" : ""));
        node.dataset.index = String(i);
        node.dataset.label = b.label;
        node.style.left = b.x * s + "px";
        node.style.top = b.y * s + "px";
        node.style.width = b.w * s + "px";
        node.style.height = b.h * s + "px";
        node.append(el("span", "box-tag", (i + 1) + " " + b.label));
        layer.append(node);
      });
      list.replaceChildren(...boxes.map((b, i) => {
        const where = { label: b.label, x: Math.round(b.x), y: Math.round(b.y), w: Math.round(b.w), h: Math.round(b.h) };
        const li = el("li", i === selected ? "selected" : "", interpolate(i === selected
          ? gettext("%(label)s at %(x)s, %(y)s (%(w)s × %(h)s) — selected")
          : gettext("%(label)s at %(x)s, %(y)s (%(w)s × %(h)s)"), where, true));
        return li;
      }));
    }

    function pick(i) {
      current = i;
      pal.set(i);
      if (selected >= 0) {
        boxes[selected].label = labels[i];
        draw();
        ctx.say(interpolate(gettext("Box %(n)s is now %(label)s."), { n: selected + 1, label: labels[i] }, true));
      } else {
        ctx.say(interpolate(gettext("New boxes are %(label)s."), { label: labels[i] }, true));
      }
    }

    // Drawing: drag on the image; a click on a box selects it.
    let start = null;
    let ghost = null;
    function at(e) {
      const r = layer.getBoundingClientRect();
      const s = scale();
      return { x: (e.clientX - r.left) / s, y: (e.clientY - r.top) / s };
    }
    layer.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      const hit = e.target.closest(".box");
      if (hit) {
        selected = Number(hit.dataset.index);
        draw();
        ctx.say(interpolate(gettext("Selected box %(n)s (%(label)s). Arrow keys move it, Delete removes it, a digit changes its class."), { n: selected + 1, label: boxes[selected].label }, true));
        return;
      }
      start = at(e);
      ghost = el("div", "box drawing");
      layer.append(ghost);
      layer.setPointerCapture(e.pointerId);
    });
    layer.addEventListener("pointermove", (e) => {
      if (!start) return;
      const p = at(e);
      const s = scale();
      ghost.style.left = Math.min(p.x, start.x) * s + "px";
      ghost.style.top = Math.min(p.y, start.y) * s + "px";
      ghost.style.width = Math.abs(p.x - start.x) * s + "px";
      ghost.style.height = Math.abs(p.y - start.y) * s + "px";
    });
    layer.addEventListener("pointerup", (e) => {
      if (!start) return;
      const p = at(e);
      const b = clamp({ x: Math.min(p.x, start.x), y: Math.min(p.y, start.y), w: Math.abs(p.x - start.x), h: Math.abs(p.y - start.y), label: labels[current] });
      start = null;
      if (b.w < 2 || b.h < 2) { selected = -1; draw(); return; }
      boxes.push(b);
      selected = boxes.length - 1;
      draw();
      ctx.say(interpolate(gettext("Box %(n)s drawn: %(label)s. Press Enter to submit, or draw another."), { n: boxes.length, label: b.label }, true));
    });

    function onKey(e) {
      const i = digitIndex(e, labels.length);
      if (i >= 0) { pick(i); return true; }
      if (selected < 0) return false;
      const step = e.shiftKey ? 10 : 1;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (moves[e.key]) {
        const b = boxes[selected];
        boxes[selected] = clamp({ ...b, x: b.x + moves[e.key][0], y: b.y + moves[e.key][1] });
        draw();
        return true;
      }
      if (e.key === "Delete" || e.key === "Backspace") {
        boxes.splice(selected, 1);
        ctx.say(interpolate(gettext("Box %(n)s removed."), { n: selected + 1 }, true));
        selected = -1;
        draw();
        return true;
      }
      if (e.key === "Escape") { selected = -1; draw(); return true; }
      return false;
    }

    return {
      node: root,
      onKey: onKey,
      layout: draw,
      value() {
        return boxes.map((b) => ({ x: round(b.x), y: round(b.y), w: round(b.w), h: round(b.h), label: b.label }));
      },
      restore(value) {
        if (Array.isArray(value)) boxes = value.map((b) => ({ ...b }));
        selected = -1;
        draw();
      },
      describe(value) { return interpolate(ngettext("%(n)s box", "%(n)s boxes", value.length), { n: value.length }, true); },
      allowEmpty: true,
    };
  }

  // --- spans ---------------------------------------------------------------------------------
  function spansWidget(task, ctx) {
    const labels = task.labels || [];
    const text = String((task.item || {}).text || "");
    const overlapping = Boolean((task.rules || {}).overlapping);
    const words = [];
    const re = /\S+/g;
    let m;
    while ((m = re.exec(text)) !== null) words.push({ s: m.index, e: m.index + m[0].length });
    let spans = []; // {start, end, label}
    let current = 0;
    let cursor = 0;
    let anchor = null;
    const root = el("div", "span-editor");
    const pal = palette(labels, (i) => { current = i; pal.set(i); mark(i); });
    const para = el("p", "item-text span-text");
    const list = el("ol", "span-list");
    list.setAttribute("aria-label", gettext("Your spans"));
    root.append(pal.node, para, list);

    function range() {
      const a = anchor === null ? cursor : anchor;
      return [Math.min(a, cursor), Math.max(a, cursor)];
    }
    function labelOf(i) {
      const w = words[i];
      const hit = spans.filter((s) => s.start < w.e && s.end > w.s);
      return hit.map((s) => s.label).join(" + ");
    }
    function draw() {
      para.replaceChildren();
      let pos = 0;
      const [lo, hi] = range();
      words.forEach((w, i) => {
        if (w.s > pos) para.append(document.createTextNode(text.slice(pos, w.s)));
        const node = el("span", "word", text.slice(w.s, w.e));
        node.dataset.start = String(w.s);
        node.dataset.index = String(i);
        const tag = labelOf(i);
        if (tag) { node.dataset.label = tag; node.classList.add("marked"); node.title = tag; }
        if (ctx.keyboardUsed() && i >= lo && i <= hi) node.classList.add("cursor");
        para.append(node);
        pos = w.e;
      });
      if (pos < text.length) para.append(document.createTextNode(text.slice(pos)));
      list.replaceChildren(...spans.map((s, i) => {
        const li = el("li", "", interpolate(gettext("“%(text)s” — %(label)s"), { text: text.slice(s.start, s.end), label: s.label }, true) + " ");
        const rm = el("button", "secondary span-remove", gettext("Remove"));
        rm.type = "button";
        rm.setAttribute("aria-label", interpolate(gettext("Remove span %(n)s"), { n: i + 1 }, true));
        rm.addEventListener("click", () => { spans.splice(i, 1); draw(); ctx.say(gettext("Span removed.")); });
        li.append(rm);
        return li;
      }));
    }

    // The mouse: a selection in the text is widened to whole words.
    let pending = null; // [first word, last word] of the mouse selection
    function wordAt(node, offset, end) {
      const host = node.nodeType === 3 ? node.parentElement : node;
      let charPos;
      if (host && host.classList && host.classList.contains("word")) {
        charPos = Number(host.dataset.start) + (node.nodeType === 3 ? offset : 0);
      } else {
        // In the whitespace between words: measure from the paragraph's start.
        const r = document.createRange();
        r.setStart(para, 0);
        r.setEnd(node, offset);
        charPos = r.toString().length;
      }
      if (end) {
        for (let i = words.length - 1; i >= 0; i--) if (words[i].s < charPos) return i;
        return 0;
      }
      for (let i = 0; i < words.length; i++) if (words[i].e > charPos) return i;
      return words.length - 1;
    }
    para.addEventListener("mouseup", () => {
      const sel = window.getSelection();
      if (!sel || sel.isCollapsed || !para.contains(sel.anchorNode) || !para.contains(sel.focusNode)) return;
      const r = sel.getRangeAt(0);
      const a = wordAt(r.startContainer, r.startOffset, false);
      const b = wordAt(r.endContainer, r.endOffset, true);
      if (b < a) return;
      pending = [a, b];
      anchor = a;
      cursor = b;
      ctx.say(interpolate(gettext("Selected “%(text)s”. Press a class's number (or click the class) to mark it."), { text: text.slice(words[a].s, words[b].e) }, true));
    });

    function mark(i) {
      let lo, hi;
      if (pending) { [lo, hi] = pending; } else if (ctx.keyboardUsed()) { [lo, hi] = range(); } else {
        ctx.say(interpolate(gettext("Class %(label)s chosen. Select words with the mouse, or move with the arrow keys."), { label: labels[i] }, true));
        return;
      }
      if (!words.length) return;
      const span = { start: words[lo].s, end: words[hi].e, label: labels[i] };
      const clash = spans.find((s) => s.start < span.end && s.end > span.start);
      if (spans.some((s) => s.start === span.start && s.end === span.end && s.label === span.label)) {
        ctx.say(interpolate(gettext("That span is already marked %(label)s."), { label: span.label }, true), "hint");
      } else if (clash && !overlapping) {
        ctx.say(interpolate(gettext("That overlaps “%(text)s” (%(label)s); this dataset does not allow overlapping spans. Remove it first."), { text: text.slice(clash.start, clash.end), label: clash.label }, true), "hint");
      } else {
        spans.push(span);
        spans.sort((x, y) => x.start - y.start || x.end - y.end);
        ctx.say(interpolate(gettext("Marked “%(text)s” as %(label)s."), { text: text.slice(span.start, span.end), label: span.label }, true));
      }
      pending = null;
      anchor = null;
      const sel = window.getSelection();
      if (sel) sel.removeAllRanges();
      draw();
    }

    function onKey(e) {
      const i = digitIndex(e, labels.length);
      if (i >= 0) { current = i; pal.set(i); mark(i); return true; }
      if (!words.length) return false;
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        ctx.useKeyboard();
        pending = null;
        if (e.shiftKey && anchor === null) anchor = cursor;
        if (!e.shiftKey) anchor = null;
        cursor = Math.min(words.length - 1, Math.max(0, cursor + (e.key === "ArrowRight" ? 1 : -1)));
        draw();
        const [lo, hi] = range();
        ctx.say(interpolate(labelOf(cursor) ? gettext("“%(text)s” (%(label)s)") : gettext("“%(text)s”"), { text: text.slice(words[lo].s, words[hi].e), label: labelOf(cursor) }, true));
        return true;
      }
      if (e.key === "Delete" || e.key === "Backspace") {
        const w = words[cursor];
        const before = spans.length;
        spans = spans.filter((s) => !(s.start < w.e && s.end > w.s));
        if (spans.length !== before) ctx.say(interpolate(gettext("Removed the span on “%(text)s”."), { text: text.slice(w.s, w.e) }, true));
        draw();
        return true;
      }
      return false;
    }

    draw();
    return {
      node: root,
      onKey: onKey,
      value() { return spans.map((s) => ({ start: s.start, end: s.end, label: s.label })); },
      restore(value) { if (Array.isArray(value)) spans = value.map((s) => ({ ...s })); draw(); },
      describe(value) { return interpolate(ngettext("%(n)s span", "%(n)s spans", value.length), { n: value.length }, true); },
      allowEmpty: true,
    };
  }

  // --- pairwise ------------------------------------------------------------------------------
  function describeChoice(value) {
    if (value === "tie") return gettext("a tie");
    return value === "left" ? gettext("left is better") : gettext("right is better");
  }

  function pairWidget(task, ctx) {
    const item = task.item || {};
    const allowTie = (task.rules || {}).allow_tie !== false;
    let choice = null;
    const root = el("div", "pair-editor");
    if (item.prompt) {
      const prompt = el("p", "pair-prompt");
      prompt.append(el("strong", "", gettext("Prompt:") + " "), document.createTextNode(item.prompt));
      root.append(prompt);
    }
    const cols = el("div", "pair-columns");
    const options = [
      ["left", gettext("Left is better"), gettext("Left answer"), "1", item.left],
      ["right", gettext("Right is better"), gettext("Right answer"), "2", item.right],
    ];
    const buttons = {};
    options.forEach(([value, caption, region, key, candidate]) => {
      const col = el("section", "pair-column");
      col.setAttribute("aria-label", region);
      col.append(el("p", "item-text pair-text", (candidate && candidate.text) || ""));
      const b = el("button", "choice");
      b.type = "button";
      b.value = value;
      b.setAttribute("aria-pressed", "false");
      b.append(kbd(key), " ", el("span", "name", caption));
      b.addEventListener("click", () => set(value));
      col.append(b);
      cols.append(col);
      buttons[value] = b;
    });
    root.append(cols);
    if (allowTie) {
      const tie = el("button", "choice pair-tie");
      tie.type = "button";
      tie.value = "tie";
      tie.setAttribute("aria-pressed", "false");
      tie.append(kbd("3"), " ", el("span", "name", gettext("Tie: equally good")));
      tie.addEventListener("click", () => set("tie"));
      root.append(tie);
      buttons.tie = tie;
    }
    function set(value) {
      choice = value;
      Object.entries(buttons).forEach(([v, b]) => b.setAttribute("aria-pressed", v === value ? "true" : "false"));
      ctx.say(interpolate(gettext("Selected: %(choice)s. Press Enter to submit."), { choice: describeChoice(value) }, true));
    }
    return {
      node: root,
      onKey(e) {
        const map = { 1: "left", ArrowLeft: "left", 2: "right", ArrowRight: "right" };
        if (allowTie) { map[3] = "tie"; map.ArrowDown = "tie"; }
        if (map[e.key]) { set(map[e.key]); return true; }
        return false;
      },
      value() { return choice; },
      restore(value) { if (value) set(value); },
      describe(value) { return describeChoice(value); },
      emptyHint: allowTie ? gettext("Pick the better answer first: 1 (left), 2 (right) or 3 (a tie).") : gettext("Pick the better answer first: 1 (left), 2 (right)."),
    };
  }

  // --- text ----------------------------------------------------------------------------------
  function textWidget(task, ctx) {
    const item = task.item || {};
    const root = el("div", "text-editor");
    if (item.kind === "audio") {
      const audio = el("audio");
      audio.controls = true;
      audio.src = ctx.safeUrl(item.audio_url);
      root.append(audio);
    } else {
      const img = el("img", "item-image");
      img.alt = gettext("Image to transcribe");
      img.src = ctx.safeUrl(item.image_url);
      root.append(img);
    }
    const label = el("label", "text-label", gettext("Transcription") + " ");
    const area = el("textarea", "text-answer");
    area.rows = 3;
    area.id = "text-answer";
    area.setAttribute("aria-describedby", "text-answer-hint");
    label.htmlFor = area.id;
    const hint = el("p", "muted", gettext("Type what you hear or read. Ctrl+Enter submits; Escape leaves the text box for the shortcuts."));
    hint.id = "text-answer-hint";
    area.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); ctx.submit(); }
      if (e.key === "Escape") { e.preventDefault(); area.blur(); ctx.focusWork(); }
    });
    root.append(label, area, hint);
    return {
      node: root,
      focus() { area.focus({ preventScroll: true }); },
      onKey() { return false; },
      value() { return area.value.trim() || null; },
      restore(value) { if (typeof value === "string") area.value = value; },
      describe(value) { return value.length > 40 ? value.slice(0, 40) + "…" : value; },
      emptyHint: gettext("Type the transcription first (or skip the item with S)."),
    };
  }

  window.DatadaoLabelTypes = {
    create(task, ctx) {
      const make = { boxes: boxesWidget, spans: spansWidget, pairwise: pairWidget, text: textWidget }[task.task_type];
      return make ? make(task, ctx) : null;
    },
  };
})();
