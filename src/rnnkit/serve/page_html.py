"""The web page of ``GET /``: one self-contained HTML file, inline CSS and vanilla JavaScript,
no build step and no external URL (the service works offline).

``__TITLE__`` and ``__INFO__`` (the ``/v1/info`` summary, JSON) are replaced by
:func:`rnnkit.serve.page.render_page`. The script shows the panel of the run's task:

* ``lm``: prompt, temperature, length, greedy and seed; the text streams into ``#gen`` token
  by token (``fetch`` reading the ``text/event-stream`` of ``POST /v1/sample``), then the
  link to the hidden-state viewer of the prompt and text (``/viz?text=...``);
* ``generate``: a condition, temperature and count; the samples as they arrive;
* ``classify`` / ``tag``: one text (sentence) per line; labels with probability bars, or
  each word with its tag;
* ``seq2seq``: one sentence per line, a beam width; the translations;
* numeric series (``series-classify``, ``series-tag``, ``forecast``): a JSON array of series.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
:root { --accent: #2b6cb0; --line: #d9dee5; --muted: #667085; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2433;
       background: #f6f7f9; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 20px; }
header h1 { font-size: 18px; margin: 0; }
header .meta { font-size: 13px; color: var(--muted); margin-top: 3px; }
main { max-width: 920px; margin: 18px auto; padding: 0 20px; }
section.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px;
                padding: 16px; }
label { font-size: 13px; color: #344054; }
textarea, input[type=text] { width: 100%; font: 14px ui-monospace, Menlo, Consolas, monospace;
        padding: 8px; border: 1px solid var(--line); border-radius: 6px; }
input[type=number] { width: 90px; padding: 4px; }
.row { display: flex; gap: 18px; align-items: center; flex-wrap: wrap; margin: 10px 0; }
button { background: var(--accent); color: #fff; border: 0; border-radius: 6px;
         padding: 7px 16px; font-size: 14px; cursor: pointer; }
button:disabled { background: #98a2b3; cursor: default; }
button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
pre.out { white-space: pre-wrap; word-break: break-word; background: #fbfbfc; min-height: 90px;
          border: 1px solid var(--line); border-radius: 6px; padding: 10px;
          font: 14px/1.5 ui-monospace, Menlo, Consolas, monospace; margin: 10px 0; }
pre.out .prompt { color: var(--muted); }
#status { font-size: 12px; color: var(--muted); min-height: 16px; margin-top: 6px; }
#vizlink { font-size: 13px; }
#status.error { color: #b42318; }
.result { border-top: 1px solid #eef0f3; padding: 8px 0; }
.result .text { font-size: 14px; margin-bottom: 4px; }
.bar { display: flex; align-items: center; gap: 8px; font-size: 13px; margin: 2px 0; }
.bar .name { width: 160px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar .track { flex: 1; background: #eef0f3; border-radius: 3px; height: 10px; }
.bar .fill { display: block; background: var(--accent); height: 10px; border-radius: 3px; }
.bar .p { width: 56px; text-align: right; font-variant-numeric: tabular-nums; }
.word { display: inline-block; text-align: center; margin: 2px 6px 6px 0; }
.word .w { font-size: 14px; }
.word .t { font-size: 11px; color: #fff; background: var(--accent); border-radius: 3px;
           padding: 0 4px; }
footer { font-size: 12px; color: var(--muted); margin: 14px 0 30px; }
footer a, a { color: var(--accent); }
</style>
</head>
<body>
<header>
  <h1 id="title"></h1>
  <div class="meta" id="meta"></div>
</header>
<main>
<section class="panel" id="panel-lm" hidden>
  <label for="prompt">Prompt</label>
  <textarea id="prompt" rows="3" placeholder="text the model reads first (may be empty)"></textarea>
  <div class="row">
    <label>Temperature <input id="temperature" type="range" min="0.05" max="2" step="0.05">
      <output id="tval"></output></label>
    <label>Length <input id="length" type="number" min="1" value="200"></label>
    <label><input id="greedy" type="checkbox"> greedy</label>
    <label>Seed <input id="seed" type="number" placeholder="random"></label>
    <button id="go">Generate</button>
    <button id="stop" class="secondary" disabled>Stop</button>
  </div>
  <pre class="out" id="out"><span class="prompt" id="shown-prompt"></span><span
    id="gen"></span></pre>
  <a id="vizlink" href="/viz" target="_blank">Hidden-state viewer of this text</a>
</section>
<section class="panel" id="panel-generate" hidden>
  <div class="row">
    <label>Condition <select id="condition"></select>
      <input id="condition-text" type="text" placeholder="3,1,4 or test:0" hidden></label>
    <label>Temperature <input id="g-temperature" type="number" min="0.05" step="0.05"></label>
    <label>Samples <input id="num" type="number" min="1" value="5"></label>
    <button id="g-go">Generate</button>
  </div>
  <div id="samples"></div>
</section>
<section class="panel" id="panel-texts" hidden>
  <label for="texts" id="texts-label">One text per line</label>
  <textarea id="texts" rows="5"></textarea>
  <div class="row">
    <label id="beam-label" hidden>Beam <input id="beam" type="number" min="1" value="5"></label>
    <button id="t-go">Run</button>
  </div>
  <div id="results"></div>
</section>
<section class="panel" id="panel-series" hidden>
  <label for="series">A JSON array of series, each a list of steps (each a list of features)</label>
  <textarea id="series" rows="6"></textarea>
  <div class="row"><button id="s-go">Run</button></div>
  <pre class="out" id="s-out"></pre>
</section>
<div id="status"></div>
<footer>
  <a href="/v1/info">/v1/info</a> · <a href="/health">/health</a> ·
  <a href="/openapi.json">/openapi.json</a> · <a href="/docs">/docs</a>
  <span id="endpoints"></span>
</footer>
</main>
<script type="application/json" id="info">__INFO__</script>
<script>
"use strict";
const INFO = JSON.parse(document.getElementById("info").textContent);
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
function status(text, error) {
  $("status").textContent = text || "";
  $("status").className = error ? "error" : "";
}
async function post(path, body, signal) {
  const r = await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"},
                               body: JSON.stringify(body), signal});
  if (!r.ok) {
    let j = {};
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    throw new Error((j.error ? j.error + ": " : "") + (j.detail || r.status));
  }
  return r;
}
// Server-sent events over fetch (EventSource cannot POST): calls onEvent(name, data).
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buf += decoder.decode(value, {stream: true});
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let name = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5).trim();
      }
      if (data) onEvent(name, JSON.parse(data));
    }
  }
}
function sampling(temperatureId) {
  const body = {temperature: parseFloat($(temperatureId).value)};
  if ($("greedy") && $("greedy").checked && temperatureId === "temperature") body.greedy = true;
  const seed = $("seed") ? $("seed").value : "";
  if (seed !== "" && temperatureId === "temperature") body.seed = parseInt(seed, 10);
  return body;
}
function vizHref(text) {
  const t = text.slice(0, INFO.limits.viz_chars);
  return t.length >= 2 ? "/viz?text=" + encodeURIComponent(t) : "/viz";
}

function setupLM() {
  $("panel-lm").hidden = false;
  const d = INFO.sampling_defaults;
  $("temperature").value = d.temperature;
  $("tval").textContent = d.temperature;
  $("temperature").oninput = () => { $("tval").textContent = $("temperature").value; };
  $("length").max = INFO.limits.max_length;
  let controller = null;
  $("prompt").oninput = () => { $("vizlink").href = vizHref($("prompt").value); };
  $("stop").onclick = () => { if (controller) controller.abort(); };
  $("go").onclick = async () => {
    const prompt = $("prompt").value;
    $("shown-prompt").textContent = prompt;
    $("gen").textContent = "";
    $("go").disabled = true; $("stop").disabled = false;
    status("generating...");
    controller = new AbortController();
    const body = Object.assign({prompt, length: parseInt($("length").value, 10), stream: true},
                               sampling("temperature"));
    try {
      const r = await post("/v1/sample", body, controller.signal);
      await readEvents(r, (name, data) => {
        if (name === "token") $("gen").textContent += data.text;
        else if (name === "done") {
          $("gen").textContent = data.text;
          status(data.tokens + " tokens in " + data.seconds + " s" +
                 (data.stopped ? " (stopped: " + data.stopped + ")" : ""));
        } else if (name === "error") status(data.error + ": " + data.detail, true);
      });
    } catch (e) {
      status(e.name === "AbortError" ? "stopped" : String(e.message || e), e.name !== "AbortError");
    } finally {
      $("go").disabled = false; $("stop").disabled = true;
      $("vizlink").href = vizHref(prompt + $("gen").textContent);
    }
  };
}

function setupGenerate() {
  $("panel-generate").hidden = false;
  $("g-temperature").value = INFO.sampling_defaults.temperature;
  if (INFO.labels) {
    for (const l of INFO.labels) $("condition").appendChild(el("option", "", l));
  } else {
    $("condition").hidden = true; $("condition-text").hidden = false;
    $("condition-text").value = "test:0";
  }
  $("g-go").onclick = async () => {
    const condition = INFO.labels ? $("condition").value : $("condition-text").value;
    const body = {condition, num: parseInt($("num").value, 10), stream: true,
                  temperature: parseFloat($("g-temperature").value)};
    $("samples").textContent = ""; status("generating...");
    try {
      const r = await post("/v1/sample", body);
      await readEvents(r, (name, data) => {
        if (name === "sample") {
          for (const t of data.texts) {
            const row = el("div", "result");
            row.appendChild(el("div", "text", t));
            $("samples").appendChild(row);
          }
        } else if (name === "done") status("done in " + data.seconds + " s");
      });
    } catch (e) { status(String(e.message || e), true); }
  };
}

function showBars(parent, top) {
  for (const c of top) {
    const bar = el("div", "bar");
    bar.appendChild(el("span", "name", c.label));
    const track = el("span", "track"), fill = el("span", "fill");
    fill.style.width = (100 * c.probability).toFixed(1) + "%";
    track.appendChild(fill);
    bar.appendChild(track);
    bar.appendChild(el("span", "p", (100 * c.probability).toFixed(1) + "%"));
    parent.appendChild(bar);
  }
}

function setupTexts() {
  $("panel-texts").hidden = false;
  const task = INFO.task;
  if (task === "tag") {
    $("texts-label").textContent = "One sentence per line (words split at spaces)";
  }
  if (task === "seq2seq") {
    $("texts-label").textContent = "One sentence per line to translate";
    $("beam-label").hidden = false;
  }
  $("t-go").onclick = async () => {
    const texts = $("texts").value.split("\n").filter((t) => t.trim());
    if (!texts.length) { status("type a text first", true); return; }
    $("results").textContent = ""; status("running...");
    try {
      if (task === "classify") {
        const j = await (await post("/v1/predict", {texts})).json();
        j.predictions.forEach((p, i) => {
          const row = el("div", "result");
          row.appendChild(el("div", "text", texts[i]));
          showBars(row, p.top);
          $("results").appendChild(row);
        });
      } else if (task === "tag") {
        const j = await (await post("/v1/predict", {texts})).json();
        for (const p of j.predictions) {
          const row = el("div", "result");
          p.words.forEach((w, k) => {
            const span = el("span", "word");
            span.appendChild(el("div", "w", w));
            span.appendChild(el("div", "t", p.tags[k]));
            row.appendChild(span);
          });
          $("results").appendChild(row);
        }
      } else {
        const beam = parseInt($("beam").value, 10);
        const j = await (await post("/v1/translate", {texts, beam})).json();
        j.translations.forEach((t, i) => {
          const row = el("div", "result");
          row.appendChild(el("div", "text", texts[i]));
          row.appendChild(el("div", "", "→ " + t));
          $("results").appendChild(row);
        });
      }
      status("");
    } catch (e) { status(String(e.message || e), true); }
  };
}

function setupSeries() {
  $("panel-series").hidden = false;
  const forecast = INFO.task === "forecast";
  const width = forecast ? INFO.targets.length + (INFO.covariates || []).length
                         : (INFO.features || [0]).length;
  const steps = forecast ? Math.max(INFO.context || 8, 2) : 8;
  const example = [Array.from({length: steps}, (_, t) =>
    Array.from({length: width}, (_, f) => Math.round(100 * Math.sin(t / 2 + f)) / 100))];
  $("series").value = JSON.stringify(example);
  $("s-go").onclick = async () => {
    status("running...");
    try {
      const series = JSON.parse($("series").value);
      const j = forecast ? await (await post("/v1/forecast", {history: series})).json()
                         : await (await post("/v1/predict", {series})).json();
      $("s-out").textContent = JSON.stringify(j, null, 1);
      status("");
    } catch (e) { status(String(e.message || e), true); }
  };
}

$("title").textContent = "rnnkit · " + INFO.run;
$("meta").textContent = INFO.task + " run: " + INFO.description + " (" + INFO.checkpoint +
  " checkpoint)";
$("endpoints").textContent = " · this run answers " + INFO.endpoints.join(", ");
const SETUP = {lm: setupLM, generate: setupGenerate, classify: setupTexts, tag: setupTexts,
               seq2seq: setupTexts, "series-classify": setupSeries, "series-tag": setupSeries,
               forecast: setupSeries};
if (SETUP[INFO.task]) SETUP[INFO.task]();
else status("this run answers GET /v1/info only");
</script>
</body>
</html>
"""
