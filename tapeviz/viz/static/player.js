// tapeviz SweepPlayer front end (anywidget module; controls.js is prepended).
//
// The graph SVG arrives once (model "_svg"); a frame only toggles classes and replaces the
// text of gradient cells.  See tapeviz/viz/player.py for the data and the DOM hooks.
//
// Layout: the toolbar, then the graph in a viewport with the step's text beside it (below
// it when the output is narrow).  The graph is never shrunk to fit: it is shown at a
// readable size (its smallest text at least READABLE_PX on screen), zoomed and moved with
// the buttons, Ctrl + wheel, + / − keys and by dragging, and every step brings the nodes
// of that step into view.

const READABLE_PX = 14.5;  // on-screen size of the graph's smallest text at "readable size"
const ZOOM_STEP = 1.25;

function renderPlayer({ model, el }) {
  const nodes = model.get("_nodes");     // [{id, label, pos, box, circle, value, grad, step}]
  const nodeById = new Map(nodes.map((n) => [n.id, n]));  // by record id (ids need not be 0..n-1)
  const edges = model.get("_edges");     // [[svg id, record id of the op it feeds/leaves]]
  const frames = () => model.get("_frames");
  const t = (key, fields) => tr(model, key, fields);

  const root = h("div", { class: "tv-widget tv-player tv-live", tabindex: "0",
                          "aria-label": t("player.aria") });
  const graph = h("div", { class: "tv-graph", role: "img", "aria-label": t("player.graph") });
  graph.innerHTML = model.get("_svg");
  const svg = graph.querySelector("svg");

  // -- zoom and pan --------------------------------------------------------------------
  const zoomOut = iconButton("tv-zoom-out", "zoomOut", t("player.zoom_out"), { keys: "−" });
  const zoomIn = iconButton("tv-zoom-in", "zoomIn", t("player.zoom_in"), { keys: "+" });
  const zoomReset = iconButton("tv-zoom-reset", "readable", t("player.zoom_reset"), { keys: "0" });
  const zoomFit = iconButton("tv-zoom-fit", "fit", t("player.zoom_fit"), { keys: "W" });
  const zoomLevel = h("span", { class: "tv-zoom-level", "aria-live": "off" });
  const view = makeView(graph, svg, (scale, readable) => {
    zoomLevel.textContent = t("player.zoom_level", { percent: Math.round(100 * scale / readable) });
    root.dataset.zoom = String(Math.round(100 * scale / readable));
  });
  const keys = {
    "+": () => view.zoomBy(ZOOM_STEP), "=": () => view.zoomBy(ZOOM_STEP),
    "-": () => view.zoomBy(1 / ZOOM_STEP), "0": () => { view.readable(); follow(); },
    w: () => view.whole(), W: () => view.whole(),
  };

  const controls = makeControls(model, {
    name: t("player.name"),
    count: () => frames().length,
    describe: (i) => {
      const f = frames()[i];
      return f ? t("player.frame_label", { index: i + 1, count: frames().length,
                                           phase: t(`player.phase.${f.phase}`) }) : "";
    },
    keys,
  });
  // the zoom buttons sit in a corner of the graph, where they act
  const graphBox = h("div", { class: "tv-graph-box" }, [
    graph,
    h("div", { class: "tv-zoom-group", role: "group", "aria-label": t("player.zoom") },
      [zoomOut, zoomLevel, zoomIn, zoomReset, zoomFit]),
  ]);
  zoomOut.addEventListener("click", () => view.zoomBy(1 / ZOOM_STEP));
  zoomIn.addEventListener("click", () => view.zoomBy(ZOOM_STEP));
  zoomReset.addEventListener("click", () => { view.readable(); follow(); });
  zoomFit.addEventListener("click", () => view.whole());

  const title = h("div", { class: "tv-title" });
  const formula = h("div", { class: "tv-formula", "aria-live": "polite" });
  const caption = h("caption", { text: t("player.adjoints") });
  const tbody = h("tbody");
  const table = h("table", { class: "tv-adjoint-table" }, [caption, tbody]);
  const note = h("div", { class: "tv-note" });
  const adjoints = h("div", { class: "tv-adjoints" }, [table]);
  const side = h("div", { class: "tv-side" }, [
    h("div", { class: "tv-step-text" }, [title, formula, note]),
    adjoints,
  ]);
  root.append(controls.el, h("div", { class: "tv-body" }, [graphBox, side]));
  el.append(root);
  root.addEventListener("keydown", controls.keydown);

  const byId = (id) => (id && svg ? svg.getElementById(id) : null);
  const els = nodes.map((n) => ({
    n,
    box: byId(n.box), circle: byId(n.circle),
    value: byId(n.value), valueCap: byId(n.value && n.value + "-caption"),
    grad: byId(n.grad), gradCap: byId(n.grad && n.grad + "-caption"),
    step: byId(n.step), out: byId(n.out),
  }));
  const edgeEls = edges.map(([id, op]) => [byId(id), op]).filter(([e]) => e);
  const set = (e, cls, on) => { if (e) e.classList.toggle(cls, !!on); };
  const setLines = (cell, lines) => {
    if (!cell) return;
    const texts = cell.querySelectorAll("text");
    texts.forEach((t, k) => { t.textContent = k < lines.length ? lines[k] : ""; });
  };

  // The nodes a frame is about, most important first: its op, then the value it makes
  // (forward) or the values it sends a contribution to (backward), then the op's output.
  // Each step brings as many of them into view as fit.
  const focusOf = (f) => {
    const n = nodeById.get(f.node);
    if (!n) return [];
    const ids = [n.circle || n.box];
    if (f.phase === "backward") for (const u of f.updated) ids.push((nodeById.get(u) || {}).box);
    ids.push(n.box);
    return ids.map(byId).filter((e) => e);
  };
  function follow() {
    const f = frames()[model.get("index") | 0];
    if (f) view.show(focusOf(f), { animate: Number(model.get("fps")) <= 4 });
  }

  function show() {
    const all = frames();
    const i = Math.max(0, Math.min(all.length - 1, model.get("index") | 0));
    const f = all[i];
    controls.update();
    if (!f) return;
    // adjoints so far: replay the backward frames up to this one
    const adj = new Map();
    const visited = new Set();
    if (f.phase === "backward") {
      for (let j = 0; j <= i; j++) {
        const g = all[j];
        if (g.phase !== "backward") continue;
        for (const u of g.set) adj.set(u.id, u);
        visited.add(g.node);
      }
    }
    const updated = new Set(f.updated);
    for (const x of els) {
      const id = x.n.id;
      const pending = f.phase === "forward" && x.n.pos > f.pos;
      const current = id === f.node;
      for (const e of [x.box, x.circle]) {
        set(e, "tv-pending", pending);
        set(e, "tv-highlight", current);
      }
      set(x.value, "tv-hidden", pending);
      set(x.valueCap, "tv-hidden", pending);
      const a = adj.get(id);
      set(x.grad, "tv-hidden", !a);
      set(x.gradCap, "tv-hidden", !a);
      if (a) setLines(x.grad, a.lines);
      set(x.box, "tv-has-adjoint", !!a);
      set(x.box, "tv-updated", updated.has(id));
      set(x.step, "tv-hidden", !visited.has(id));
      set(x.circle, "tv-visited", visited.has(id) && !current);
    }
    const active = new Set(f.edges);
    for (const [e, op] of edgeEls) {
      const target = nodeById.get(op);
      set(e, "tv-pending", f.phase === "forward" && !!target && target.pos > f.pos);
      set(e, "tv-highlight", active.has(e.id));
    }
    root.classList.toggle("tv-phase-forward", f.phase === "forward");
    root.classList.toggle("tv-phase-backward", f.phase === "backward");

    title.textContent = f.title;
    setFormula(formula, f.formula);
    tbody.replaceChildren();
    const rows = [];
    for (const [id, u] of adj) {
      const tr = h("tr", { "data-node": id, class: updated.has(id) ? "tv-updated" : null }, [
        h("th", { scope: "row", text: u.name }),
        h("td", { text: u.sum }),
      ]);
      tbody.append(tr);
      rows.push(u.text);
    }
    note.textContent = f.phase === "forward" ? t("player.forward_note") : (f.note || "");
    table.hidden = f.phase === "forward";
    root.dataset.index = String(i);
    root.dataset.phase = f.phase;
    root.dataset.currentNode = String(f.node);
    root.dataset.adjoints = rows.join("\n");
    // the updated row in view, scrolling the table only (never the notebook)
    const row = tbody.querySelector("tr.tv-updated");
    if (row && adjoints.scrollHeight > adjoints.clientHeight) {
      const top = row.offsetTop, bottom = top + row.offsetHeight;
      if (top < adjoints.scrollTop) adjoints.scrollTop = top - 24;
      else if (bottom > adjoints.scrollTop + adjoints.clientHeight) {
        adjoints.scrollTop = bottom - adjoints.clientHeight + 4;
      }
    }
    follow();
  }

  // The first view needs the element's size: it comes with the first resize observation.
  let started = false;
  const resized = new ResizeObserver(() => {
    if (!view.resize()) return;
    if (!started) {
      started = true;
      view.readable();
      view.home();
      follow();
    }
  });
  resized.observe(graph);

  const onChange = () => show();
  model.on("change:index", onChange);
  model.on("change:fps", onChange);
  model.on("change:_frames", onChange);
  show();
  return () => {
    controls.destroy();
    resized.disconnect();
    view.destroy();
    model.off("change:index", onChange);
    model.off("change:fps", onChange);
    model.off("change:_frames", onChange);
  };
}

/**
 * Show a formula; a short bracketed value ("[[1,3],[2,4]]") is kept on one line, so that
 * lines break between the terms rather than inside a matrix.
 */
function setFormula(el, text) {
  el.replaceChildren();
  for (const part of String(text).split(/(\[[^\s]*\](?:\s\(\d+\))?)/)) {
    if (!part) continue;
    if (part.startsWith("[") && part.length <= 32) {
      el.append(h("span", { class: "tv-nobreak", text: part }));
    } else {
      el.append(document.createTextNode(part));
    }
  }
}

/**
 * The graph's viewport: a viewBox over the graphviz SVG (crisp at every zoom).
 * Returns {resize(), readable(), whole(), zoomBy(f, at), show(elements, opts), destroy()}.
 * onZoom(scale, readableScale) is called when the scale changes.
 */
function makeView(box, svg, onZoom) {
  if (!svg) {
    const none = () => false;
    return { resize: none, readable: none, whole: none, zoomBy: none, show: none, home: none,
             destroy: none };
  }
  svg.classList.add("tv-svg");
  const base = (svg.getAttribute("viewBox") || "0 0 100 100").trim().split(/[\s,]+/).map(Number);
  const [x0, y0, w0, h0] = base;
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  // The smallest text, in units of the viewBox (graphviz may scale its top group).
  const top = svg.querySelector("g");
  const topScale = top && top.transform && top.transform.baseVal.numberOfItems
    ? Math.abs(top.transform.baseVal.consolidate().matrix.a) || 1 : 1;
  const sizes = [...svg.querySelectorAll("text")]
    .map((e) => parseFloat(e.getAttribute("font-size") || "14"))
    .filter((v) => v > 0);
  const smallest = (sizes.length ? Math.min(...sizes) : 14) * topScale;
  const readableScale = READABLE_PX / smallest;  // screen px per viewBox unit

  let W = 0, H = 0;                // the viewport, px
  let scale = readableScale;
  let cx = x0 + w0 / 2, cy = y0 + h0 / 2;  // the centre of the view, viewBox units
  let anim = null;

  // Keep some graph in view: the centre stays on the graph, and an axis on which the whole
  // graph fits is centred.
  const clamp = () => {
    if (w0 * scale <= W) cx = x0 + w0 / 2;
    else cx = Math.min(x0 + w0 - W / 2 / scale, Math.max(x0 + W / 2 / scale, cx));
    if (h0 * scale <= H) cy = y0 + h0 / 2;
    else cy = Math.min(y0 + h0 - H / 2 / scale, Math.max(y0 + H / 2 / scale, cy));
  };
  const apply = () => {
    if (!W || !H) return;
    clamp();
    const vw = W / scale, vh = H / scale;
    svg.setAttribute("viewBox", `${cx - vw / 2} ${cy - vh / 2} ${vw} ${vh}`);
    onZoom(scale, readableScale);
  };
  const stopAnim = () => { if (anim !== null) cancelAnimationFrame(anim); anim = null; };
  const reduced = () => window.matchMedia
    && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const moveTo = (x, y, s, animate) => {
    stopAnim();
    if (!animate || reduced()) {
      cx = x; cy = y; scale = s;
      apply();
      return;
    }
    const from = [cx, cy, scale];
    const t0 = performance.now();
    const tick = (now) => {
      const u = Math.min(1, (now - t0) / 250);
      const e = u * (2 - u);  // ease out
      cx = from[0] + (x - from[0]) * e;
      cy = from[1] + (y - from[1]) * e;
      scale = from[2] + (s - from[2]) * e;
      apply();
      anim = u < 1 ? requestAnimationFrame(tick) : null;
    };
    anim = requestAnimationFrame(tick);
  };

  // Element boxes in viewBox units, from their place on screen.
  const unitBox = (elements) => {
    const r = svg.getBoundingClientRect();
    if (!r.width) return null;
    const k = scale;
    let left = Infinity, topY = Infinity, right = -Infinity, bottom = -Infinity;
    for (const e of elements) {
      const b = e.getBoundingClientRect();
      if (!b.width && !b.height) continue;
      left = Math.min(left, b.left); right = Math.max(right, b.right);
      topY = Math.min(topY, b.top); bottom = Math.max(bottom, b.bottom);
    }
    if (left === Infinity) return null;
    const vx = cx - r.width / 2 / k, vy = cy - r.height / 2 / k;
    return { x: vx + (left - r.left) / k, y: vy + (topY - r.top) / k,
             w: (right - left) / k, h: (bottom - topY) / k };
  };

  const api = {
    /** Read the viewport's size; false while it has none (not in the page yet). */
    resize() {
      W = box.clientWidth;
      H = box.clientHeight;
      if (!W || !H) return false;
      apply();
      return true;
    },
    readable() { stopAnim(); scale = readableScale; apply(); },
    whole() {
      if (!W || !H) return;
      moveTo(x0 + w0 / 2, y0 + h0 / 2, Math.min(W / w0, H / h0) * 0.97, true);
    },
    zoomBy(f, at) {
      if (!W || !H) return;
      const s = Math.min(readableScale * 6, Math.max(Math.min(W / w0, H / h0) * 0.5, scale * f));
      // keep the point under `at` (px in the viewport; default the centre) where it is
      const px = at ? at[0] - W / 2 : 0, py = at ? at[1] - H / 2 : 0;
      const ux = cx + px / scale, uy = cy + py / scale;
      moveTo(ux - px / s, uy - py / s, s, !at);
    },
    /**
     * Bring `elements` (most important first) into view with the smallest move: the
     * longest leading run of them that fits in the view is shown whole, with a margin.
     */
    show(elements, { animate = true } = {}) {
      if (!W || !H || !elements.length) return;
      const margin = 16 / scale;
      const vw = W / scale, vh = H / scale;
      const fits = (b) => b.w + 2 * margin <= vw && b.h + 2 * margin <= vh;
      let b = unitBox(elements.slice(0, 1));
      if (!b) return;
      for (let k = 2; k <= elements.length; k++) {
        const more = unitBox(elements.slice(0, k));
        if (!more || !fits(more)) break;
        b = more;
      }
      // per axis: the least shift that puts [lo, hi] inside the view (its start, if too big)
      const shift = (lo, hi, centre, half) => {
        if (hi - lo + 2 * margin > 2 * half) return lo - margin + half - centre;
        if (lo - margin < centre - half) return lo - margin - (centre - half);
        if (hi + margin > centre + half) return hi + margin - (centre + half);
        return 0;
      };
      const dx = shift(b.x, b.x + b.w, cx, vw / 2);
      const dy = shift(b.y, b.y + b.h, cy, vh / 2);
      if (Math.abs(dx) * scale < 0.5 && Math.abs(dy) * scale < 0.5) return;
      moveTo(cx + dx, cy + dy, scale, animate);
    },
    /** Put the view at the graph's top left corner (where a drawing starts). */
    home() {
      stopAnim();
      cx = x0 + W / 2 / scale;
      cy = y0 + H / 2 / scale;
      apply();
    },
    destroy() { stopAnim(); },
  };

  // Drag to move; Ctrl (or ⌘) + wheel, and pinch on a touchpad, zoom at the pointer.  A
  // plain wheel scrolls the notebook as usual.
  let drag = null;
  box.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    stopAnim();
    drag = { x: event.clientX, y: event.clientY, cx, cy };
    box.setPointerCapture(event.pointerId);
    box.classList.add("tv-dragging");
  });
  box.addEventListener("pointermove", (event) => {
    if (!drag) return;
    cx = drag.cx - (event.clientX - drag.x) / scale;
    cy = drag.cy - (event.clientY - drag.y) / scale;
    apply();
  });
  const endDrag = () => { drag = null; box.classList.remove("tv-dragging"); };
  box.addEventListener("pointerup", endDrag);
  box.addEventListener("pointercancel", endDrag);
  box.addEventListener("wheel", (event) => {
    if (!(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    const r = box.getBoundingClientRect();
    api.zoomBy(Math.exp(-event.deltaY / 300), [event.clientX - r.left, event.clientY - r.top]);
  }, { passive: false });
  return api;
}

export default { render: renderPlayer };
