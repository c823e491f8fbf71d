// The demo page: every figure comes from this server's REST API. No build step, no library.
"use strict";

const TOP_K = 10;
const PREDICT_DELAY_MS = 150;
const ACCURACY_DELAY_MS = 400;
const state = { models: [], model: null };
const tickets = { predict: 0, accuracy: 0, generate: 0 };
// The request in flight that newer input makes useless: aborting it stops the server's work too.
const inFlight = { accuracy: null, generate: null };

const $ = (id) => document.getElementById(id);

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function percent(probability) {
  return `${(probability * 100).toFixed(1)}%`;
}

function showChar(char) {
  return char === " " ? "space" : char;
}

// The page only names a model when there is a choice, so it works with any server version.
function withModel(body) {
  return state.models.length > 1 ? { ...body, model: state.model } : body;
}

function modelQuery() {
  return state.models.length > 1 ? `?model=${encodeURIComponent(state.model)}` : "";
}

function describeError(status, data) {
  if (Array.isArray(data.detail)) return data.detail.map((item) => `${item.loc.slice(1).join(".")}: ${item.msg}`).join("; ");
  return data.detail ? String(data.detail) : `HTTP ${status}`;
}

// A server with API_KEY set answers 401 without the key: asked for once, then kept in this
// browser's localStorage and sent with every call.
const API_KEY_ITEM = "char-rnn-api-key";

function authorization() {
  const key = localStorage.getItem(API_KEY_ITEM);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function post(body, signal) {
  return {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authorization() },
    body: JSON.stringify(body),
    signal,
  };
}

async function api(path, body, signal, asked = false) {
  const response = await fetch(path, body === undefined ? { headers: authorization() } : post(body, signal));
  if (response.status === 401 && !asked) {
    const key = window.prompt("This server needs an API key:");
    if (key) {
      localStorage.setItem(API_KEY_ITEM, key.trim());
      return api(path, body, signal, true);
    }
  }
  const data = await response.json();
  if (!response.ok) throw new Error(describeError(response.status, data));
  return data;
}

// A fresh AbortController for `kind`, after aborting the one before it.
function replaceInFlight(kind) {
  if (inFlight[kind]) inFlight[kind].abort();
  inFlight[kind] = new AbortController();
  return inFlight[kind];
}

// POST `body` with "stream": true; `onEvent` gets each Server-Sent Event's JSON data.
async function stream(path, body, signal, onEvent) {
  const response = await fetch(path, post({ ...body, stream: true }, signal));
  if (!response.ok) {
    const data = await response.json();
    throw new Error(describeError(response.status, data));
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    const events = buffered.split("\n\n");
    buffered = events.pop();
    for (const event of events) onEvent(JSON.parse(event.slice("data: ".length)));
  }
}

function showError(error) {
  $("error").textContent = error instanceof Error ? error.message : String(error);
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

function debounce(action, delay) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(action, delay);
  };
}

// The server refuses a text without a letter; asking anyway would only show an error.
function simplified(text) {
  return text.toLowerCase().replace(/[^a-z]+/g, " ");
}

function currentEntry() {
  return state.models.find((entry) => entry.name === state.model) || null;
}

// --- models ---------------------------------------------------------------------------------

async function loadModels() {
  const data = await api("/models");
  state.models = data.models;
  const chosen = state.models.find((entry) => entry.default) || state.models[0];
  state.model = chosen.name;
  const select = $("model");
  select.replaceChildren(...state.models.map((entry) => {
    const option = element("option", "", entry.default ? `${entry.name} (default)` : entry.name);
    option.value = entry.name;
    return option;
  }));
  select.value = state.model;
  describeModel();
}

function describeModel() {
  const entry = currentEntry();
  $("model-info").textContent = entry
    ? `${entry.architecture}, ${entry.n_hidden} hidden units; reads the last ${entry.context} characters`
    : "";
}

function firstNumber(...candidates) {
  return candidates.find((value) => typeof value === "number");
}

// The figures recorded at training, as GET /models lists them: the model's and the
// character n-gram's on the test split.
function updateRecorded() {
  const entry = currentEntry() || {};
  const model = entry.metrics?.test?.accuracy;
  const ngram = entry.baseline?.test?.accuracy;
  const target = $("recorded");
  target.dataset.model = typeof model === "number" ? String(model) : "";
  target.dataset.ngram = typeof ngram === "number" ? String(ngram) : "";
  target.textContent = "Recorded at training, on the test text: this model "
    + `${typeof model === "number" ? percent(model) : "not recorded"}; the character n-gram `
    + `${typeof ngram === "number" ? percent(ngram) : "not recorded"}.`;
}

// --- next character -------------------------------------------------------------------------

async function updatePrediction() {
  const text = $("predict-text").value;
  const ticket = ++tickets.predict;
  if (!simplified(text).trim()) {
    renderBars(text, null);
    return;
  }
  const data = await api("/predict-next", withModel({ text, top_k: TOP_K }));
  if (ticket === tickets.predict) renderBars(text, data);
}

function renderBars(text, data) {
  const bars = $("bars");
  $("predict-window").textContent = data ? JSON.stringify(data.window) : "";
  bars.replaceChildren(...(data ? data.top.map(bar) : []));
  bars.dataset.text = text;
  bars.dataset.model = state.model;
}

function bar(entry) {
  const row = element("li");
  row.dataset.char = entry.char;
  row.dataset.probability = String(entry.probability);
  const track = element("span", "track");
  const fill = element("span", "fill");
  fill.style.display = "block";
  fill.style.width = `${Math.max(entry.probability * 100, 0.2)}%`;
  track.append(fill);
  row.append(element("span", "char", showChar(entry.char)), track, element("span", "value", percent(entry.probability)));
  row.setAttribute("aria-label", `${showChar(entry.char)}: ${percent(entry.probability)}`);
  return row;
}

// --- generation -----------------------------------------------------------------------------

async function generate() {
  const text = $("predict-text").value;
  if (!simplified(text).trim()) throw new Error("Type some text with a letter first.");
  const seed = $("seed").value.trim();
  const body = {
    text,
    n: Number($("generate-n").value),
    temperature: Number($("temperature").value),
    seed: seed === "" ? null : Number(seed),
  };
  const controller = replaceInFlight("generate");
  const out = $("generated");
  const mark = element("mark", "generated", "");
  out.replaceChildren(document.createTextNode(text), mark);
  delete out.dataset.continuation;
  out.setAttribute("aria-busy", "true"); // read out once, when it is whole
  try {
    // Each character is shown as it is generated; the last event says why generation ended.
    await stream("/generate", withModel(body), controller.signal, (event) => {
      if (event.text !== undefined) mark.textContent += event.text;
      else out.dataset.continuation = mark.textContent;
    });
  } finally {
    if (inFlight.generate === controller) out.setAttribute("aria-busy", "false");
  }
}

// --- accuracy on a text ---------------------------------------------------------------------

async function measure() {
  const text = $("accuracy-text").value;
  const ticket = ++tickets.accuracy;
  const controller = replaceInFlight("accuracy");
  // The server scores every character after the first letter, so it needs one after it.
  const letter = simplified(text).search(/[a-z]/);
  if (letter < 0 || letter + 1 >= simplified(text).length) {
    $("accuracy-summary").textContent = "Paste a text with a letter and at least one character after it.";
    $("coloured").replaceChildren();
    return;
  }
  $("accuracy-summary").textContent = "Measuring…";
  const data = await api("/accuracy", withModel({ text, details: true }), controller.signal);
  if (ticket === tickets.accuracy) renderAccuracy(data);
}

function renderAccuracy(data) {
  const summary = $("accuracy-summary");
  summary.textContent = `On this text the model guesses ${percent(data.accuracy)} of the characters `
    + `(${data.correct.toLocaleString("en")} of ${data.total.toLocaleString("en")}).`;
  summary.dataset.accuracy = String(data.accuracy);
  summary.dataset.model = state.model;
  const { text, start, predicted, probabilities } = data.details;
  const spans = [element("span", "context", text.slice(0, start))];
  for (let k = 0; k < predicted.length; k += 1) {
    const actual = text[start + k];
    const span = element("span", actual === predicted[k] ? "hit" : "miss", actual);
    span.title = `guessed "${predicted[k]}" (${percent(probabilities[k])})`;
    spans.push(span);
  }
  $("coloured").replaceChildren(...spans);
}

// --- the LSTM cell --------------------------------------------------------------------------

async function lstmStep() {
  const x = ["x1", "x2", "x3"].map((id) => Number($(id).value));
  const data = await api("/lstm/step", { x });
  $("lstm-x").textContent = `[${x.join(", ")}]`;
  for (const cell of document.querySelectorAll("td[data-gate]")) {
    const value = data[cell.dataset.gate][0];
    cell.dataset.value = String(value);
    cell.textContent = value.toFixed(8);
  }
}

function chooseExample(button) {
  button.dataset.x.split(",").forEach((value, index) => { $(`x${index + 1}`).value = value; });
  return lstmStep();
}

// --- wiring ---------------------------------------------------------------------------------

// Every action reports its failure on the page, never as an unhandled rejection; a request
// aborted because newer input replaced it is no failure.
function guarded(action) {
  return async (...args) => {
    try {
      await action(...args);
      clearError();
    } catch (error) {
      if (error?.name !== "AbortError") showError(error);
    }
  };
}

// New typing makes the measure in flight useless at once, before the pause that starts the next.
function abortAccuracy() {
  if (inFlight.accuracy) inFlight.accuracy.abort();
  inFlight.accuracy = null;
}

function changeModel() {
  state.model = $("model").value;
  describeModel();
  $("generated").replaceChildren();
  return Promise.all([updateRecorded(), updatePrediction(), measure()]);
}

async function start() {
  await loadModels();
  await Promise.all([updateRecorded(), updatePrediction(), measure(), lstmStep()]);
}

document.addEventListener("DOMContentLoaded", () => {
  $("predict-text").addEventListener("input", debounce(guarded(updatePrediction), PREDICT_DELAY_MS));
  $("accuracy-text").addEventListener("input", abortAccuracy);
  $("accuracy-text").addEventListener("input", debounce(guarded(measure), ACCURACY_DELAY_MS));
  $("measure").addEventListener("click", guarded(measure));
  $("generate").addEventListener("click", guarded(generate));
  $("model").addEventListener("change", guarded(changeModel));
  $("lstm-step").addEventListener("click", guarded(lstmStep));
  for (const button of document.querySelectorAll("[data-x]")) {
    button.addEventListener("click", guarded(() => chooseExample(button)));
  }
  guarded(start)().then(() => { document.body.dataset.ready = "true"; });
});
