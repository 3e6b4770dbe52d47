// tapeviz OptimizerRace front end (anywidget module; controls.js is prepended).
//
// Each plot is a matplotlib SVG (contours, colour bar, axes: they never change) with an SVG
// of the same size laid over it that holds the paths and markers, at pixel positions that
// Python worked out with matplotlib's transforms.  A frame cuts every path at the current
// step and moves the markers.  See tapeviz/viz/trajectories.py for the DOM hooks.

const HYPER = [["learning_rate", "race.learning_rate", "tv-lr"],
               ["momentum", "race.momentum", "tv-momentum"],
               ["beta_1", "race.beta_1", "tv-momentum"]];

function renderRace({ model, el }) {
  const scene = () => model.get("_scene");
  const t = (key, fields) => tr(model, key, fields);
  const root = h("div", { class: "tv-widget tv-race", tabindex: "0", "aria-label": t("race.aria") });
  const controls = makeControls(model, {
    name: t("race.name"),
    count: () => scene().steps + 1,
    describe: (i) => t("race.step_label", { index: i, count: scene().steps }),
  });
  const title = h("div", { class: "tv-title" });
  const plot = h("div", { class: "tv-plot" });
  const lossPlot = h("div", { class: "tv-loss-plot-box" });
  const table = h("table", { class: "tv-race-table" });
  const fates = h("div", { class: "tv-fates" });
  const note = h("div", { class: "tv-note" });
  const error = h("div", { class: "tv-note tv-error", role: "alert" });
  // the notes on runs that diverged go under the loss plot, beside the contours
  const legend = h("ul", { class: "tv-legend" });
  const lossPanel = h("div", { class: "tv-loss-panel" }, [lossPlot, legend, fates]);
  root.append(controls.el, title, h("div", { class: "tv-body" }, [plot, lossPanel]),
              table, note, error);
  el.append(root);
  root.addEventListener("keydown", controls.keydown);
  const isStatic = !!model.get("_static");

  let parts = null;  // elements of the current scene

  function build() {
    const s = scene();
    title.textContent = s.title;
    plot.innerHTML = `<div class="tv-stack">${s.plot}${s.paths_svg}</div>`;
    lossPlot.innerHTML = `<div class="tv-stack">${s.loss_plot}${s.loss_svg}</div>`;
    const all = (box, sel) => [...box.querySelectorAll(sel)];
    const hyper = model.get("_hyper") || {};
    const keys = HYPER.filter(([k]) => s.series.some((r) => k in (hyper[r.name] || {})));
    const mom = keys.filter(([k]) => k !== "learning_rate");
    const head = h("tr", {}, [
      h("th", { scope: "col", text: t("race.col.optimizer") }),
      h("th", { scope: "col", text: t(s.dims === 1 ? "race.col.position_1d" : "race.col.position") }),
      h("th", { scope: "col", text: t("race.col.loss") }),
      h("th", { scope: "col", text: t("race.col.slots") }),
      h("th", { scope: "col", text: t("race.col.learning_rate") }),
      h("th", { scope: "col", text: mom.length ? t("race.col.momentum") : "" }),
    ]);
    const body = h("tbody");
    const cells = [];
    s.series.forEach((r, k) => {
      const swatch = h("span");
      swatch.innerHTML = r.swatch;
      const status = h("span", { class: "tv-status" });
      const pos = h("td", { class: "tv-num tv-pos" });
      const loss = h("td", { class: "tv-num tv-loss" });
      const slots = h("td", { class: "tv-num tv-slots" });
      const settings = hyper[r.name] || {};
      const cellFor = (key, labelKey, cls) => {
        if (!(key in settings)) return h("td", { text: "—" });
        const label = t(labelKey);
        const input = h("input", {
          type: "number", class: cls, step: "any", min: "0",
          value: settings[key], "aria-label": t("race.input_aria", { label, name: r.name }),
          title: isStatic ? t("race.input_title_static") : t("race.input_title", { label }),
          disabled: isStatic,
        });
        let committed = Number(settings[key]);
        const commit = () => {
          const v = Number(input.value);
          if (input.value.trim() === "" || !(v >= 0)) { input.value = settings[key]; return; }
          if (v === committed) return;  // Enter, then the change event: one re-run
          committed = v;
          const next = JSON.parse(JSON.stringify(model.get("_hyper") || {}));
          next[r.name] = { ...(next[r.name] || {}), [key]: v };
          root.dataset.running = "true";
          model.set("_hyper", next);
          model.save_changes();
        };
        input.addEventListener("change", commit);
        input.addEventListener("keydown", (event) => {
          if (event.key === "Enter") {
            commit();
            event.preventDefault();
          }
          // Typing in the field is for the field: JupyterLab's notebook shortcuts (Enter =
          // edit the cell, arrows = select another cell...) must not see these keys.
          if (event.key !== "Tab" && event.key !== "Escape") event.stopPropagation();
        });
        return h("td", {}, [input]);
      };
      const momKey = mom.find(([k]) => k in settings);
      body.append(h("tr", { "data-series": k }, [
        h("th", { scope: "row" }, [swatch, r.name, status]),
        pos, loss, slots,
        cellFor("learning_rate", "race.learning_rate", "tv-lr"),
        momKey ? cellFor(...momKey) : h("td", { text: "—" }),
      ]));
      cells.push({ pos, loss, slots, status });
    });
    table.replaceChildren(h("caption", { class: "tv-step-caption" }), h("thead", {}, [head]), body);
    legend.replaceChildren(...s.series.map((r) => {
      const item = h("li");
      item.innerHTML = r.swatch;
      item.append(r.name);
      return item;
    }));
    note.textContent = isStatic ? t("race.note_static") : t("race.note");
    const bySeries = (list) => {
      const out = [];
      for (const e of list) out[Number(e.dataset.series)] = e;
      return out;
    };
    parts = {
      paths: bySeries(all(plot, "polyline.tv-path")),
      halos: bySeries(all(plot, "polyline.tv-path-halo")),
      heads: bySeries(all(plot, "path.tv-head")),
      crosses: bySeries(all(plot, "path.tv-cross")),
      losses: bySeries(all(lossPlot, "polyline.tv-loss")),
      lossHeads: bySeries(all(lossPlot, "path.tv-loss-head")),
      cursor: lossPlot.querySelector("line.tv-cursor"),
      cells,
      caption: table.querySelector("caption"),
    };
  }

  const pts = (px, i) => {
    let out = "";
    for (let k = 0; k <= i && k < px.length; k++) {
      const p = px[k];
      if (p) out += `${p[0]},${p[1]} `;
    }
    return out;
  };
  const lastPoint = (px, i) => {
    for (let k = Math.min(i, px.length - 1); k >= 0; k--) if (px[k]) return px[k];
    return null;
  };

  const moveTo = (marker, p, extra) => {
    if (!marker) return;
    marker.setAttribute("visibility", p ? "visible" : "hidden");
    if (p) marker.setAttribute("transform", `translate(${p[0]},${p[1]})${extra}`);
  };

  function show() {
    const s = scene();
    const i = Math.max(0, Math.min(s.steps, model.get("index") | 0));
    controls.update();
    const gone = [];
    s.series.forEach((r, k) => {
      const line = pts(r.path_px, i);
      if (parts.paths[k]) parts.paths[k].setAttribute("points", line);
      if (parts.halos[k]) parts.halos[k].setAttribute("points", line);
      if (parts.losses[k]) parts.losses[k].setAttribute("points", pts(r.loss_px, i));
      const here = lastPoint(r.path_px, i);
      const out = r.stop !== null && i >= r.stop;
      moveTo(parts.heads[k], here, "");
      if (parts.heads[k]) parts.heads[k].classList.toggle("tv-diverged", out);
      if (parts.crosses[k]) moveTo(parts.crosses[k], out ? here : null, "");
      moveTo(parts.lossHeads[k], lastPoint(r.loss_px, i), " scale(0.8)");
      const c = parts.cells[k];
      c.pos.textContent = r.pos[i];
      c.loss.textContent = r.loss[i];
      const slotText = Object.entries(r.slots)
        .map(([name, v]) => `${name} = ${v[i]}`).join("\n");
      c.slots.textContent = slotText || "—";
      c.status.textContent = out ? r.status : "";
      if (out) gone.push(r.note);
    });
    fates.replaceChildren(...gone.map((text) => h("p", { class: "tv-note tv-fate", text })));
    if (parts.cursor) {
      const x = s.cursor[i];
      parts.cursor.setAttribute("x1", x);
      parts.cursor.setAttribute("x2", x);
    }
    parts.caption.textContent = t("race.caption", { index: i, count: s.steps });
    root.dataset.index = String(i);
  }

  const onScene = () => { build(); show(); delete root.dataset.running; };
  const onIndex = () => show();
  const onRunning = () => {
    if (model.get("_running")) root.dataset.running = "true";
    else delete root.dataset.running;
    root.classList.toggle("tv-busy", !!model.get("_running"));
  };
  const onError = () => { error.textContent = model.get("_error") || ""; delete root.dataset.running; };
  model.on("change:_scene", onScene);
  model.on("change:index", onIndex);
  model.on("change:fps", onIndex);
  model.on("change:_running", onRunning);
  model.on("change:_error", onError);
  onScene();
  onError();
  return () => {
    controls.destroy();
    model.off("change:_scene", onScene);
    model.off("change:index", onIndex);
    model.off("change:fps", onIndex);
    model.off("change:_running", onRunning);
    model.off("change:_error", onError);
  };
}

export default { render: renderRace };
