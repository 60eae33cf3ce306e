// convfx studio: the page's script.  Plain JavaScript, no framework, no build step.
//
// The page holds the settings; every change sends them to the server, which
// computes with convfx itself and answers with the kernel (as written and as
// applied), the result as PNG and, for one pixel, the arithmetic.  Nothing is
// computed here except the colours of the cells: the numbers shown are the
// server's.  Text from the server is always set with textContent, never as HTML.

"use strict";

const state = {
  choices: null,
  filters: [],
  photo: null,
  photoSize: null,          // {width, height} of the current photo
  source: "grid",
  filter: { name: "sobel", parameters: {} },
  grid: { side: 3, rows: [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], scale: "1", operation: "convolve" },
  learned: { model: null, index: null },
  boundary: "reflect",
  range: null,
  gray: null,
  pinned: null,             // {x, y} once a pixel is clicked
  pointed: null,            // the pixel under the mouse
  channel: 0,               // which output channel the arithmetic shows
  generation: 0,            // counts the requests for a result
  shown: null,              // the settings of the result on screen (JSON text)
  resultURL: null,
  learnedModels: {},        // model key -> its description
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- helpers

function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of [].concat(children)) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// Numbers as the page shows them: integers whole, others to `digits` significant
// digits; the exact value is in the cell's tooltip.
function formatNumber(value, digits = 4) {
  if (typeof value === "string") return value;  // "inf", "nan" from the server
  if (value === null || value === undefined) return "";
  if (Number.isInteger(value) && Math.abs(value) < 1e7) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e7)) return value.toExponential(Math.max(digits - 3, 0));
  return String(Number(value.toPrecision(digits)));
}

function sentence(text) {
  text = (text || "").trim();
  return text && !/[.!?]$/.test(text) ? `${text}.` : text;
}

// The exact value, as JSON sent it (for tooltips and data attributes).
function exact(value) {
  return String(value);
}

// A value with up to 10 significant digits, for the sums.
function formatLong(value) {
  return typeof value === "number" ? String(Number(value.toPrecision(10))) : String(value);
}

function cellColour(value, peak) {
  if (typeof value !== "number" || peak === 0 || value === 0) return "#ffffff";
  const strength = Math.min(1, Math.abs(value) / peak);
  const rgb = value > 0 ? "var(--positive)" : "var(--negative)";
  return `rgba(${rgb}, ${(0.12 + 0.78 * strength).toFixed(3)})`;
}

function peakOf(rows) {
  let peak = 0;
  for (const row of rows) for (const value of row) if (typeof value === "number") peak = Math.max(peak, Math.abs(value));
  return peak;
}

// A read-only matrix as a table; coloured by sign unless `plain`.
function matrixTable(rows, { plain = false, className = "", centre = true } = {}) {
  const peak = peakOf(rows);
  const side = Math.max(rows.length, (rows[0] || []).length);
  // Wider matrices get fewer digits, so that three of them fit side by side.
  const digits = side > 3 ? 2 : 4;
  const table = el("table", { className: `matrix ${className} ${side > 3 ? "wide" : ""}` });
  const middle = [Math.floor((rows.length - 1) / 2), Math.floor(((rows[0] || []).length - 1) / 2)];
  rows.forEach((row, i) => {
    const tr = el("tr");
    row.forEach((value, j) => {
      const td = el("td", { text: formatNumber(value, digits), title: exact(value) });
      if (!plain) td.style.background = cellColour(value, peak);
      if (centre && i === middle[0] && j === middle[1]) td.classList.add("centre");
      tr.append(td);
    });
    table.append(tr);
  });
  return table;
}

function block(caption, content) {
  return el("div", { className: "matrix-block" }, [content, el("div", { className: "caption", text: caption })]);
}

async function answer(response) {
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error) message = body.error;
  } catch (error) { /* not JSON: keep the status line */ }
  throw new Error(message);
}

async function getJSON(url) {
  return (await answer(await fetch(url))).json();
}

async function postJSON(url, body, signal) {
  const response = await fetch(url, {
    method: "POST", body: JSON.stringify(body), signal,
    headers: { "Content-Type": "application/json" },
  });
  return answer(response);
}

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// ---------------------------------------------------------------- the settings

function currentKernel() {
  if (state.source === "filter") {
    return { source: "filter", name: state.filter.name, parameters: state.filter.parameters };
  }
  if (state.source === "learned") {
    return { source: "learned", model: state.learned.model, index: state.learned.index };
  }
  return { source: "grid", rows: state.grid.rows, scale: state.grid.scale, operation: state.grid.operation };
}

function currentSettings() {
  return {
    photo: state.photo,
    kernel: currentKernel(),
    boundary: state.boundary,
    range: state.range,
    gray: state.gray,
  };
}

// ---------------------------------------------------------------- the result

let pending = null;       // the AbortController of the request under way
let debounceTimer = null;

function scheduleUpdate(delay = 120) {
  clearTimeout(debounceTimer);
  $("result-image").dataset.state = "busy";
  debounceTimer = setTimeout(update, delay);
}

async function update() {
  if (!state.photo) return;
  if (state.source === "learned" && state.learned.index === null) {
    setStatus("Click a learned kernel below to apply it.");
    return;
  }
  if (pending) pending.abort();
  const controller = new AbortController();
  pending = controller;
  const generation = ++state.generation;
  const settings = currentSettings();
  const image = $("result-image");
  image.dataset.state = "busy";
  setStatus("Computing…");
  const started = performance.now();
  try {
    const [kernelResponse, renderResponse] = await Promise.all([
      postJSON("/api/kernel", settings, controller.signal),
      postJSON("/api/render", settings, controller.signal),
    ]);
    const kernel = await kernelResponse.json();
    const png = await renderResponse.blob();
    if (generation !== state.generation) return;
    const url = URL.createObjectURL(png);
    await new Promise((resolve, reject) => {
      image.onload = resolve;
      image.onerror = () => reject(new Error("the browser could not show the result"));
      image.src = url;
    });
    if (generation !== state.generation) return;
    if (state.resultURL) URL.revokeObjectURL(state.resultURL);
    state.resultURL = url;
    state.shown = JSON.stringify(settings);
    image.classList.remove("stale");
    showKernel(kernel);
    const link = $("download");
    link.href = url;
    link.download = kernel.download;
    $("command").textContent = kernel.command;
    const timing = serverTiming(renderResponse.headers.get("server-timing"));
    const total = Math.round(performance.now() - started);
    setStatus(
      `Computed by convfx in ${timing.filter} ms, encoded as PNG in ${timing.encode} ms; ` +
      `${total} ms from the change to the picture.`
    );
    $("result-caption").textContent =
      `Result: ${kernel.effect.length > 60 ? kernel.effect.slice(0, 57) + "…" : kernel.effect} · boundary ${settings.boundary} · ` +
      `range ${kernel.range} · ${kernel.gray ? "luminance" : "each channel"}. ` +
      "Computed by convfx.apply and convfx.map_range at full size.";
    image.dataset.generation = String(generation);
    image.dataset.state = "ready";
    const pixel = state.pinned || state.pointed;
    if (pixel) showPixel(pixel.x, pixel.y);
  } catch (error) {
    if (error.name === "AbortError" || generation !== state.generation) return;
    image.classList.add("stale");
    image.dataset.state = "error";
    setStatus(`${error.message} (the result shown is for the previous settings)`, true);
  } finally {
    if (pending === controller) pending = null;
  }
}

function serverTiming(header) {
  const found = { filter: "?", encode: "?" };
  for (const part of (header || "").split(",")) {
    const match = part.trim().match(/^(\w+);dur=([\d.]+)/);
    if (match) found[match[1]] = Math.round(Number(match[2]));
  }
  return found;
}

// ---------------------------------------------------------------- the kernel view

function showKernel(kernel) {
  const holder = $("kernels");
  holder.replaceChildren();
  const combine = {
    magnitude: "The result is the square root of the sum of the squares of the kernels' responses.",
    max: "The result is the largest of the kernels' responses.",
    difference: "The result is the first kernel's response minus the second's.",
  }[kernel.combine] || "";
  let summary = sentence(kernel.description);
  if (kernel.kind === "detector") summary += " A detector is not one kernel: these are the bank kernels it uses on the way.";
  if (kernel.kind === "learned") summary += ` The network's input is the photo scaled to 0..1 with the mean taken off; bias ${formatNumber(kernel.bias)}.`;
  $("kernel-summary").textContent = `${summary} ${combine}`.trim();
  for (const item of kernel.kernels) {
    const section = el("div", { className: "kernel" });
    if (kernel.kernels.length > 1 || kernel.kind === "detector") section.append(el("h3", { text: item.name }));
    if (!item.written) {
      section.append(el("p", { className: "hint", text: `${item.shape[0]}×${item.shape[1]}: too large to show cell by cell.` }));
      holder.append(section);
      continue;
    }
    const flipped = item.operation === "convolve";
    const scaled = item.scale !== "1";
    let parts;
    if (!flipped && !scaled) {
      // Nothing happens between the two: show the numbers once.
      parts = [block("as written and as applied to the pixels (cross-correlation: used as it is)", matrixTable(item.applied))];
    } else {
      parts = [block(scaled ? `as written, times ${item.scale}` : "as written", matrixTable(item.written))];
      parts.push(el("div", {
        className: "arrow",
        text: flipped ? `convolution: ${scaled ? "scaled and " : ""}rotated 180° →` : "cross-correlation: scaled, not rotated →",
      }));
      parts.push(block("as applied to the pixels", matrixTable(item.applied)));
    }
    section.append(el("div", { className: "matrices" }, parts));
    holder.append(section);
  }
  const own = kernel.default_range;
  const rangeSelect = $("range");
  rangeSelect.options[0].textContent = `the filter's own (${own})`;
  $("range-help").textContent = rangeHelp(kernel.range);
}

function rangeHelp(range) {
  return {
    abs: "abs: pixel = |response|, rounded and clipped to the white level.",
    clip: "clip: pixel = response, rounded and clipped to 0..white.",
    signed: "signed: pixel = response / 2 around mid-grey: negative darker, positive lighter.",
    normalize: "normalize: a contrast stretch; the response's 0.5th percentile becomes black and its 99.5th white.",
    minmax: "minmax: the response's minimum becomes black and its maximum white.",
    binary: "binary: white where the response is above 0, black elsewhere.",
  }[range] || "";
}

// ---------------------------------------------------------------- the arithmetic of one pixel

let pixelRequest = null;
let pixelWanted = null;

function showPixel(x, y) {
  pixelWanted = { x, y };
  if (!pixelRequest) nextPixel();
}

async function nextPixel() {
  if (!pixelWanted || !state.shown) return;
  const { x, y } = pixelWanted;
  pixelWanted = null;
  const settings = JSON.parse(state.shown);
  pixelRequest = postJSON("/api/pixel", { settings, x, y });
  try {
    const arithmetic = await (await pixelRequest).json();
    drawArithmetic(arithmetic);
  } catch (error) {
    $("arithmetic-body").replaceChildren(el("p", { className: "message error", text: error.message }));
  } finally {
    pixelRequest = null;
    if (pixelWanted) nextPixel();
  }
}

function placeBox(box, image, left, top, width, height) {
  if (!image.naturalWidth) return;
  const scale = image.clientWidth / image.naturalWidth;
  box.style.left = `${left * scale}px`;
  box.style.top = `${top * scale}px`;
  box.style.width = `${Math.max(width * scale, 4)}px`;
  box.style.height = `${Math.max(height * scale, 4)}px`;
  box.hidden = false;
}

function drawArithmetic(result) {
  $("pixel-x").value = result.x;
  $("pixel-y").value = result.y;
  placeBox($("photo-box"), $("photo-image"), result.left, result.top, result.kernel_shape[1], result.kernel_shape[0]);
  placeBox($("result-box"), $("result-image"), result.x, result.y, 1, 1);

  const tabs = $("channel-tabs");
  tabs.replaceChildren();
  if (state.channel >= result.outputs.length) state.channel = 0;
  if (result.outputs.length > 1) {
    result.outputs.forEach((output, index) => {
      const button = el("button", { type: "button", role: "tab", text: `channel ${output.name}`, "aria-selected": String(index === state.channel) });
      button.addEventListener("click", () => { state.channel = index; drawArithmetic(result); });
      tabs.append(button);
    });
  }
  const output = result.outputs[state.channel];
  const body = $("arithmetic-body");
  body.replaceChildren();
  body.dataset.x = result.x;
  body.dataset.y = result.y;
  body.dataset.channel = state.channel;
  body.append(el("p", { className: "hint", text: result.note }));

  if (result.kind !== "detector") {
    for (const term of output.terms) {
      if (output.terms.length > 1) body.append(el("h3", { text: `${term.kernel}${result.kind === "learned" ? `, ${term.input} input` : ""}` }));
      if (result.drawn) {
        body.append(el("div", { className: "matrices" }, [
          block(`${result.kind === "learned" ? "the network's " : "the "}${term.input} input under the kernel: x ${result.left}…${result.left + result.kernel_shape[1] - 1}, y ${result.top}…${result.top + result.kernel_shape[0] - 1}`,
            matrixTable(term.window, { plain: true, className: "window" })),
          el("span", { className: "operator", text: "×" }),
          block("the kernel, as applied", matrixTable(term.weights)),
          el("span", { className: "operator", text: "=" }),
          block("the products, cell by cell", matrixTable(term.products)),
        ]));
      }
      if (output.terms.length > 1) {
        body.append(el("p", { className: "sum-line" }, [
          "Sum of the products: ",
          el("strong", { className: "term-sum", "data-value": exact(term.sum), text: formatLong(term.sum) }),
        ]));
      }
    }
    const parts = [];
    if (output.bias !== 0 || result.kind === "learned") parts.push(`plus the bias ${formatNumber(output.bias)}`);
    const how = {
      magnitude: "√(sum₁² + sum₂²)",
      max: "the largest sum",
      difference: "sum₁ − sum₂",
      sum: "the sums over the input channels added",
    }[output.combine];
    const sentence = [how, ...parts].filter(Boolean).join(", ");
    body.append(el("p", { className: "sum-line" }, [
      sentence ? `Value at (${result.x}, ${result.y}) = ${sentence}: ` : `Sum of the products, the value at (${result.x}, ${result.y}): `,
      el("strong", { id: "pixel-sum", "data-value": exact(output.value), text: formatLong(output.value) }),
    ]));
  }
  const agrees = output.agrees;
  const check = agrees === null ? "" : agrees ? "✓ the same, to float32 precision" : "✗ differs!";
  body.append(el("p", { className: "sum-line" }, [
    "convfx.apply's response at this pixel: ",
    el("strong", { id: "pixel-library", "data-value": exact(output.library), text: formatLong(output.library) }),
    " ",
    el("span", { className: `check ${agrees === false ? "bad" : "ok"}`, text: check }),
  ]));
  body.append(el("p", { className: "sum-line" }, [
    `Pixel after the output range ${result.range}: `,
    el("strong", { id: "pixel-value", text: String(output.pixel) }),
    result.range === "normalize" || result.range === "minmax"
      ? ` (the range stretches ${formatNumber(result.response_min)} .. ${formatNumber(result.response_max)} to black .. white)`
      : "",
  ]));
}

function pixelAt(event, image) {
  const rect = image.getBoundingClientRect();
  if (!image.naturalWidth || rect.width === 0) return null;
  const x = Math.floor((event.clientX - rect.left) * image.naturalWidth / rect.width);
  const y = Math.floor((event.clientY - rect.top) * image.naturalHeight / rect.height);
  if (x < 0 || y < 0 || x >= image.naturalWidth || y >= image.naturalHeight) return null;
  return { x, y };
}

function followPointer(image) {
  image.addEventListener("mousemove", (event) => {
    if (state.pinned) return;
    const pixel = pixelAt(event, image);
    if (!pixel) return;
    state.pointed = pixel;
    showPixel(pixel.x, pixel.y);
  });
  image.addEventListener("click", (event) => {
    const pixel = pixelAt(event, image);
    if (!pixel) return;
    state.pinned = state.pinned ? null : pixel;
    showPixel(pixel.x, pixel.y);
  });
}

// ---------------------------------------------------------------- the grid editor

function drawGrid() {
  const table = $("grid");
  table.replaceChildren();
  const side = state.grid.side;
  const middle = (side - 1) / 2;
  for (let i = 0; i < side; i++) {
    const tr = el("tr");
    for (let j = 0; j < side; j++) {
      const input = el("input", {
        value: String(state.grid.rows[i][j]), inputmode: "decimal", spellcheck: "false",
        "aria-label": `row ${i + 1}, column ${j + 1}`, "data-row": i, "data-column": j,
      });
      input.addEventListener("input", () => {
        const text = input.value.trim();
        const number = Number(text);
        const valid = text !== "" && Number.isFinite(number);
        input.classList.toggle("invalid", !valid);
        if (!valid) return;
        state.grid.rows[i][j] = number;
        colourGrid();
        scheduleUpdate();
      });
      tr.append(el("td", { className: i === middle && j === middle ? "centre" : "" }, input));
    }
    table.append(tr);
  }
  colourGrid();
}

function colourGrid() {
  const peak = peakOf(state.grid.rows);
  for (const input of $("grid").querySelectorAll("input")) {
    input.style.background = cellColour(state.grid.rows[input.dataset.row][input.dataset.column], peak);
  }
}

function resizeGrid(side) {
  const old = state.grid.rows;
  const offset = (side - old.length) / 2;
  const rows = [];
  for (let i = 0; i < side; i++) {
    rows.push([]);
    for (let j = 0; j < side; j++) {
      const a = i - offset, b = j - offset;
      rows[i].push(a >= 0 && b >= 0 && a < old.length && b < old.length ? old[a][b] : 0);
    }
  }
  state.grid.side = side;
  state.grid.rows = rows;
  $("grid-size").value = String(side);
  drawGrid();
}

function loadGrid(start) {
  state.grid.rows = start.rows.map((row) => row.slice());
  state.grid.side = start.rows.length;
  state.grid.scale = start.scale;
  state.grid.operation = start.operation;
  $("grid-size").value = String(state.grid.side);
  $("grid-scale").value = start.scale;
  $("grid-scale").classList.remove("invalid");
  for (const radio of document.querySelectorAll('input[name="operation"]')) radio.checked = radio.value === start.operation;
  drawGrid();
}

// ---------------------------------------------------------------- named filters

function drawFilterOptions() {
  const select = $("filter");
  select.replaceChildren();
  const families = {};
  for (const item of state.filters) (families[item.family] = families[item.family] || []).push(item);
  for (const [family, items] of Object.entries(families)) {
    const group = el("optgroup", { label: family });
    for (const item of items) group.append(el("option", { value: item.name, text: item.kind === "detector" ? `${item.name} (detector)` : item.name }));
    select.append(group);
  }
  select.value = state.filter.name;

  const start = $("grid-start");
  start.replaceChildren(el("option", { value: "", text: "choose…" }));
  for (const item of state.filters) if (item.grid) start.append(el("option", { value: item.name, text: item.name }));
}

function chosenFilter() {
  return state.filters.find((item) => item.name === state.filter.name);
}

function drawFilterParameters() {
  const item = chosenFilter();
  const holder = $("filter-parameters");
  holder.replaceChildren();
  if (!item) return;
  $("filter-description").textContent = `${item.description} (${item.size}; range ${item.range})`;
  $("edit-in-grid").disabled = !item.grid;
  $("edit-in-grid").title = item.grid ? "" : "Only one square kernel of side 3, 5 or 7 fits the grid";
  for (const parameter of item.parameters) {
    const id = `parameter-${parameter.name}`;
    let input;
    if (parameter.kind === "bool") {
      input = el("input", { type: "checkbox", id, checked: parameter.default === true });
    } else if (parameter.kind === "choice") {
      input = el("select", { id }, parameter.choices.map((choice) => el("option", { value: choice, text: choice })));
      input.value = parameter.default;
    } else {
      const placeholder = parameter.default === null ? (item.kind === "detector" ? "auto" : "as in the bank") : String(parameter.default);
      input = el("input", { type: "number", step: "any", id, placeholder });
    }
    input.addEventListener(parameter.kind === "number" ? "input" : "change", () => {
      let value;
      if (parameter.kind === "bool") value = input.checked;
      else if (parameter.kind === "choice") value = input.value;
      else {
        value = input.value.trim() === "" ? null : Number(input.value);
        const valid = value === null || Number.isFinite(value);
        input.classList.toggle("invalid", !valid);
        if (!valid) return;
      }
      if (value === null) delete state.filter.parameters[parameter.name];
      else state.filter.parameters[parameter.name] = value;
      scheduleUpdate(250);
    });
    holder.append(el("label", { className: "row", title: parameter.help }, [parameter.name, input, parameter.help ? el("span", { className: "hint", text: parameter.help }) : null]));
  }
}

// ---------------------------------------------------------------- learned kernels

// The symmetries of the square in words, as `convfx compare`'s figure says them.
const TRANSFORM_WORDS = {
  identity: "", rot90: "turned 90°", rot180: "turned 180°", rot270: "turned 270°", flip_lr: "mirrored left-right",
  flip_ud: "mirrored top-bottom", transpose: "mirrored on the diagonal", anti_transpose: "mirrored on the anti-diagonal",
};

// How a kernel's closest classic filter was moved to match: "turned 90°, sign flipped", "as it is".
function matchMoves(match) {
  const turn = TRANSFORM_WORDS[match.transform] ?? match.transform.replaceAll("_", " ");
  return [turn, match.sign < 0 ? "sign flipped" : ""].filter(Boolean).join(", ") || "as it is";
}

async function showModel(key) {
  const holder = $("learned-kernels");
  $("model-summary").textContent = "Comparing the kernels with the classic ones…";
  holder.replaceChildren();
  let model = state.learnedModels[key];
  try {
    if (!model) model = state.learnedModels[key] = await getJSON(`/api/learned?model=${encodeURIComponent(key)}`);
  } catch (error) {
    $("model-summary").textContent = error.message;
    return;
  }
  if ($("model").value !== key) return;
  const [f, c, kh, kw] = model.shape;
  const accuracy = model.accuracy === null ? "" : ` Held-out accuracy ${(100 * model.accuracy).toFixed(1)}%.`;
  $("model-summary").textContent =
    `${model.label}: ${f} kernels of ${c}×${kh}×${kw} (${model.layer}).${accuracy} ` +
    `Mean best similarity ${model.score.toFixed(3)}; random kernels score ${model.baseline.mean.toFixed(3)} ± ${model.baseline.sd.toFixed(3)}.`;
  for (const kernel of model.kernels) {
    const match = kernel.match;
    const pressed = state.source === "learned" && state.learned.model === key && state.learned.index === kernel.index;
    const card = el("button", { type: "button", className: "kernel-card", "aria-pressed": String(pressed), "data-index": kernel.index }, [
      el("div", { className: "pictures" }, [
        block(c > 1 ? `#${kernel.index} (mean of ${c})` : `#${kernel.index}`, matrixTable(kernel.mean, { centre: false })),
        block("closest classic", matrixTable(match.classic, { centre: false })),
      ]),
      el("div", { className: "name", text: match.name }),
      el("div", { className: "name", text: matchMoves(match) }),
      el("div", { className: "name", text: `similarity ${match.similarity.toFixed(3)}` }),
      el("div", { className: "class", text: kernel.class ? `class: ${kernel.class}` : "class: not classified yet" }),
    ]);
    card.addEventListener("click", () => {
      state.learned = { model: key, index: kernel.index };
      $("learned-choice").textContent = `Kernel #${kernel.index} of ${model.label}, closest classic filter ${match.name} (similarity ${match.similarity.toFixed(3)}).`;
      for (const other of holder.querySelectorAll(".kernel-card")) other.setAttribute("aria-pressed", String(other === card));
      selectSource("learned");
    });
    holder.append(card);
  }
}

// ---------------------------------------------------------------- photos

async function choosePhoto(id) {
  state.photo = id;
  $("photo").value = id;
  state.pinned = null;
  state.pointed = null;
  $("photo-box").hidden = true;
  $("result-box").hidden = true;
  const image = $("photo-image");
  await new Promise((resolve) => {
    image.onload = resolve;
    image.onerror = resolve;
    image.src = `/api/photo?id=${encodeURIComponent(id)}`;
  });
  state.photoSize = { width: image.naturalWidth, height: image.naturalHeight };
  const label = $("photo").selectedOptions[0] ? $("photo").selectedOptions[0].textContent : id;
  $("photo-caption").textContent =
    `Photo: ${label}, ${image.naturalWidth} × ${image.naturalHeight} pixels. ` +
    "Shown scaled to fit the page; every number is computed at full size.";
  $("pixel-x").max = image.naturalWidth - 1;
  $("pixel-y").max = image.naturalHeight - 1;
  scheduleUpdate(0);
}

async function upload(file) {
  const message = $("upload-message");
  message.classList.remove("error");
  if (file.size > state.choices.max_upload_bytes) {
    message.classList.add("error");
    message.textContent = `${file.name}: ${file.size.toLocaleString()} bytes is over the limit of ${state.choices.max_upload_bytes.toLocaleString()} bytes.`;
    return;
  }
  message.textContent = `Reading ${file.name}…`;
  try {
    const response = await fetch("/api/photos", {
      method: "POST", body: file,
      headers: { "Content-Type": "application/octet-stream", "X-File-Name": encodeURIComponent(file.name) },
    });
    const photo = await (await answer(response)).json();
    $("photo").append(el("option", { value: photo.id, text: `${photo.label} (upload)` }));
    message.textContent = `${photo.label}: ${photo.width} × ${photo.height}, ${photo.channels === 1 ? "gray" : "colour"}, ${photo.bits}-bit.`;
    await choosePhoto(photo.id);
  } catch (error) {
    message.classList.add("error");
    message.textContent = error.message;
  } finally {
    $("upload").value = "";
  }
}

// ---------------------------------------------------------------- wiring

function selectSource(source) {
  state.source = source;
  for (const tab of document.querySelectorAll('.tabs[role="tablist"] button[data-source]')) {
    tab.setAttribute("aria-selected", String(tab.dataset.source === source));
  }
  for (const name of ["filter", "grid", "learned"]) $(`source-${name}`).hidden = name !== source;
  scheduleUpdate(0);
}

function fillSelect(select, values, chosen) {
  select.replaceChildren(...values.map((value) => el("option", { value, text: value })));
  select.value = chosen;
}

async function start() {
  let filters;
  try {
    [state.choices, filters] = await Promise.all([getJSON("/api/choices"), getJSON("/api/filters")]);
  } catch (error) {
    setStatus(`The studio did not answer: ${error.message}`, true);
    return;
  }
  state.filters = filters;
  const choices = state.choices;
  fillSelect($("boundary"), choices.boundaries, choices.default_boundary);
  const rangeSelect = $("range");
  rangeSelect.replaceChildren(el("option", { value: "", text: "the filter's own" }), ...choices.ranges.map((value) => el("option", { value, text: value })));
  fillSelect($("grid-size"), choices.grid_sides.map(String), "3");
  $("photo").replaceChildren(...choices.photos.map((photo) => el("option", { value: photo.id, text: photo.label })));
  $("model").replaceChildren(...choices.models.map((model) => el("option", { value: model.key, text: model.label })));
  drawFilterOptions();
  drawFilterParameters();
  drawGrid();
  $("grid-scale").value = state.grid.scale;

  $("photo").addEventListener("change", () => choosePhoto($("photo").value));
  $("upload").addEventListener("change", () => { if ($("upload").files.length) upload($("upload").files[0]); });
  for (const tab of document.querySelectorAll('.tabs[role="tablist"] button[data-source]')) {
    tab.addEventListener("click", () => selectSource(tab.dataset.source));
  }
  $("filter").addEventListener("change", () => {
    state.filter = { name: $("filter").value, parameters: {} };
    drawFilterParameters();
    scheduleUpdate(0);
  });
  $("edit-in-grid").addEventListener("click", () => {
    const item = chosenFilter();
    if (!item || !item.grid) return;
    loadGrid(item.grid);
    selectSource("grid");
  });
  $("grid-size").addEventListener("change", () => { resizeGrid(Number($("grid-size").value)); scheduleUpdate(); });
  $("grid-start").addEventListener("change", () => {
    const item = state.filters.find((candidate) => candidate.name === $("grid-start").value);
    if (item && item.grid) { loadGrid(item.grid); scheduleUpdate(0); }
    $("grid-start").value = "";
  });
  $("grid-scale").addEventListener("input", () => {
    const text = $("grid-scale").value.trim();
    const valid = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?(\/(\d+\.?\d*|\.\d+))?$/.test(text);
    $("grid-scale").classList.toggle("invalid", !valid);
    if (!valid) return;
    state.grid.scale = text;
    scheduleUpdate();
  });
  for (const radio of document.querySelectorAll('input[name="operation"]')) {
    radio.checked = radio.value === state.grid.operation;
    radio.addEventListener("change", () => { state.grid.operation = radio.value; scheduleUpdate(0); });
  }
  $("boundary").addEventListener("change", () => { state.boundary = $("boundary").value; scheduleUpdate(0); });
  rangeSelect.addEventListener("change", () => { state.range = rangeSelect.value || null; scheduleUpdate(0); });
  $("gray").addEventListener("change", () => {
    const value = $("gray").value;
    state.gray = value === "" ? null : value === "true";
    scheduleUpdate(0);
  });
  $("model").addEventListener("change", () => showModel($("model").value));
  $("pixel-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const x = Number($("pixel-x").value), y = Number($("pixel-y").value);
    if (!Number.isInteger(x) || !Number.isInteger(y)) return;
    state.pinned = { x, y };
    showPixel(x, y);
  });
  $("result-frame").addEventListener("keydown", (event) => {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    if (!moves[event.key] || !state.photoSize) return;
    event.preventDefault();
    const from = state.pinned || state.pointed || { x: 0, y: 0 };
    const x = Math.min(Math.max(from.x + moves[event.key][0], 0), state.photoSize.width - 1);
    const y = Math.min(Math.max(from.y + moves[event.key][1], 0), state.photoSize.height - 1);
    state.pinned = { x, y };
    showPixel(x, y);
  });
  followPointer($("result-image"));
  followPointer($("photo-image"));
  window.addEventListener("resize", () => { const pixel = state.pinned || state.pointed; if (pixel) showPixel(pixel.x, pixel.y); });

  if (choices.default_photo) await choosePhoto(choices.default_photo);
  else setStatus("No sample photo is installed: upload one.");
  if (choices.models.length) showModel(choices.models[0].key);
}

document.addEventListener("DOMContentLoaded", start);
