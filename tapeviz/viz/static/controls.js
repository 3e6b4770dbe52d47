// tapeviz widgets: shared helpers and the playback toolbar.
// This file is concatenated in front of player.js / race.js (an anywidget module must be a
// single file); it defines functions only and exports nothing.
//
// No visible text is written here: every string comes from the widget's `_text` (Python's
// tapeviz/viz/messages.py), and every icon is an inline SVG (a font may lack ⏸ or ⏮).

/** Create an element: h("button", {class: "tv-play", "aria-label": "Play"}, ["Play"]). */
function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) el.append(c);
  return el;
}

/** A message of the widget's table, its {fields} filled: tr(model, "race.diverged", {step: 4}). */
function tr(model, key, fields = {}) {
  const table = model.get("_text") || {};
  const template = key in table ? table[key] : key;
  return template.replace(/\{(\w+)\}/g, (m, name) => (name in fields ? String(fields[name]) : m));
}

// Icons: 16 x 16 path data, drawn in the button's text colour.
const ICONS = {
  first: "M2.5 2h2v12h-2z M14 2.2v11.6L5.5 8z",
  back: "M12.5 2.2v11.6L3.5 8z",
  play: "M4 2.2v11.6L13.5 8z",
  pause: "M3.5 2.5h3.2v11H3.5z M9.3 2.5h3.2v11H9.3z",
  forward: "M3.5 2.2v11.6L12.5 8z",
  last: "M2 2.2v11.6L10.5 8z M11.5 2h2v12h-2z",
  zoomIn: "M7 1.5a5.5 5.5 0 1 0 3.2 10l3.4 3.4 1.3-1.3-3.4-3.4A5.5 5.5 0 0 0 7 1.5z"
    + "m0 1.7a3.8 3.8 0 1 1 0 7.6 3.8 3.8 0 0 1 0-7.6z M6.2 4.5h1.6v1.7h1.7v1.6H7.8v1.7H6.2V7.8"
    + "H4.5V6.2h1.7z",
  zoomOut: "M7 1.5a5.5 5.5 0 1 0 3.2 10l3.4 3.4 1.3-1.3-3.4-3.4A5.5 5.5 0 0 0 7 1.5z"
    + "m0 1.7a3.8 3.8 0 1 1 0 7.6 3.8 3.8 0 0 1 0-7.6z M4.5 6.2h5v1.6h-5z",
  fit: "M1.5 1.5h5v1.7H3.2v3.3H1.5z M9.5 1.5h5v5h-1.7V3.2H9.5z M1.5 9.5h1.7v3.3h3.3v1.7h-5z"
    + " M12.8 9.5h1.7v5h-5v-1.7h3.3z",
  readable: "M1 13.5 5 2.5h1.8l4 11H9L8 10.6H3.8l-1 2.9z M4.4 8.9h3l-1.5-4.3z"
    + " M11.5 5.5h1.6v2h2v1.6h-2v2h-1.6v-2h-2V7.5h2z",
};

/** An inline SVG icon (hidden from screen readers: the button has the label). */
function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "tv-icon");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

/** A toolbar button: an icon, an aria-label and a tooltip; `text` adds a visible word. */
function iconButton(cls, iconName, label, { keys = "", text = "" } = {}) {
  const b = h("button", { type: "button", class: `tv-button tv-icon-button ${cls}`,
                          "aria-label": label, title: keys ? `${label} (${keys})` : label });
  b.append(icon(iconName));
  if (text) b.append(h("span", { class: "tv-button-text", text }));
  return b;
}

/** Change a button's icon (and its visible word, if it has one). */
function setIcon(button, iconName, text) {
  button.querySelector("svg.tv-icon").replaceWith(icon(iconName));
  const word = button.querySelector(".tv-button-text");
  if (word && text !== undefined) word.textContent = text;
}

const SPEEDS = [0.5, 1, 2, 4, 8, 15, 30];

/**
 * The toolbar: first / step back / play-pause / step forward / last, a slider and a speed
 * menu.  It reads and writes the model's `index` and `fps`; playback runs here, in the
 * browser (a timer steps `index`), so no kernel round trip is needed per frame.
 *
 * options.count()      -> number of frames
 * options.describe(i)  -> text for the frame label ("Frame 3 / 14 · forward pass")
 * options.name         -> what the widget is, for aria labels ("Sweep player")
 * Returns {el, update(), destroy(), keydown(event), stop()}.
 */
function makeControls(model, options) {
  const count = options.count;
  const t = (key, fields) => tr(model, key, fields);
  const first = iconButton("tv-first", "first", t("controls.first"), { keys: "Home" });
  const back = iconButton("tv-step-back", "back", t("controls.back"), { keys: "←" });
  const play = iconButton("tv-play", "play", t("controls.play"),
                          { keys: t("controls.key_space"), text: t("controls.play") });
  const fwd = iconButton("tv-step-forward", "forward", t("controls.forward"), { keys: "→" });
  const last = iconButton("tv-last", "last", t("controls.last"), { keys: "End" });
  play.setAttribute("aria-pressed", "false");
  const slider = h("input", { type: "range", class: "tv-slider", min: 0, step: 1,
                              "aria-label": t("controls.slider") });
  const speed = h("select", { class: "tv-speed", "aria-label": t("controls.speed"),
                              title: t("controls.speed") });
  for (const s of SPEEDS) speed.append(h("option", { value: s, text: t("controls.fps", { fps: s }) }));
  const frameLabel = h("span", { class: "tv-frame-label", "aria-live": "polite" });
  const el = h("div", { class: "tv-controls", role: "toolbar",
                        "aria-label": t("controls.toolbar", { name: options.name }) },
               [h("span", { class: "tv-transport" }, [first, back, play, fwd, last]),
                slider, speed, frameLabel]);

  let timer = null;
  const index = () => model.get("index") | 0;
  const setIndex = (i) => {
    const n = count();
    const j = Math.max(0, Math.min(n - 1, i | 0));
    if (j !== index()) {
      model.set("index", j);
      model.save_changes();
    }
  };
  const fps = () => {
    const f = Number(model.get("fps"));
    return f > 0 ? f : 2;
  };
  const showPlaying = (on) => {
    const label = t(on ? "controls.pause" : "controls.play");
    setIcon(play, on ? "pause" : "play", label);
    play.setAttribute("aria-label", label);
    play.title = `${label} (${t("controls.key_space")})`;
    play.setAttribute("aria-pressed", on ? "true" : "false");
    // no announcement per frame while playing
    frameLabel.setAttribute("aria-live", on ? "off" : "polite");
  };
  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    showPlaying(false);
  };
  const start = () => {
    if (timer !== null) clearInterval(timer);
    if (index() >= count() - 1) setIndex(0);
    timer = setInterval(() => {
      setIndex(index() + 1);
      if (index() >= count() - 1) stop();  // stop on the last frame
    }, 1000 / fps());
    showPlaying(true);
  };
  const toggle = () => (timer === null ? start() : stop());

  first.addEventListener("click", () => { stop(); setIndex(0); });
  back.addEventListener("click", () => { stop(); setIndex(index() - 1); });
  play.addEventListener("click", toggle);
  fwd.addEventListener("click", () => { stop(); setIndex(index() + 1); });
  last.addEventListener("click", () => { stop(); setIndex(count() - 1); });
  slider.addEventListener("input", () => { stop(); setIndex(Number(slider.value)); });
  speed.addEventListener("change", () => {
    model.set("fps", Number(speed.value));
    model.save_changes();
    if (timer !== null) start();
  });

  function update() {
    const n = count();
    const i = index();
    slider.max = String(Math.max(0, n - 1));
    slider.value = String(i);
    slider.setAttribute("aria-valuetext", options.describe(i));
    frameLabel.textContent = options.describe(i);
    first.disabled = back.disabled = i <= 0;
    fwd.disabled = last.disabled = i >= n - 1;
    if (timer === null) play.disabled = n <= 1;
    const f = fps();
    if (!SPEEDS.includes(f) && !speed.querySelector(`option[value="${f}"]`)) {
      speed.append(h("option", { value: f, text: t("controls.fps", { fps: f }) }));
    }
    speed.value = String(f);
  }

  // Keys while the focus is in the widget (not in the slider or the menu, which have their
  // own).  Every key the widget uses stops here, so that it does not also run a JupyterLab
  // notebook command (arrows select another cell, Space scrolls, Enter edits the cell).
  // options.keys: more keys of the widget ({"+": zoomIn, ...}).
  const OWN = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End",
                       "PageUp", "PageDown", " ", "Enter"]);
  function keydown(event) {
    const tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") {
      if (OWN.has(event.key)) event.stopPropagation();  // the control's own keys
      return;
    }
    const actions = {
      ArrowRight: () => { stop(); setIndex(index() + 1); },
      ArrowLeft: () => { stop(); setIndex(index() - 1); },
      Home: () => { stop(); setIndex(0); },
      End: () => { stop(); setIndex(count() - 1); },
      ...(event.ctrlKey || event.metaKey || event.altKey ? {} : options.keys || {}),
    };
    if (tag !== "BUTTON") actions[" "] = toggle;
    const act = actions[event.key];
    if (act) {
      act();
      event.preventDefault();
    }
    if (act || (tag === "BUTTON" && OWN.has(event.key))) {
      event.stopPropagation();  // keep Jupyter's notebook shortcuts out of it
    }
  }

  return { el, update, destroy: stop, keydown, stop };
}
