"""The viewer's HTML page: one self-contained file, inline CSS and JavaScript, no assets.

``__TITLE__`` and ``__DATA__`` are replaced by :func:`rnnkit.diagnostics.viewer.render_html`.
The page reads its state from the URL hash (``#signal=c&unit=5&pos=12``), so a view can be
linked, and a headless browser can open a given unit.
"""

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>__TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; color: #222; background: #fafafa; }
header { padding: 10px 16px; background: #fff; border-bottom: 1px solid #ddd; }
header h1 { font-size: 17px; margin: 0 0 4px 0; }
header .meta { font-size: 12px; color: #666; }
#controls { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; margin-top: 8px; }
#controls label { font-size: 13px; }
#controls input[type=number] { width: 70px; }
main { display: flex; gap: 14px; padding: 12px 16px; }
#text { flex: 3; white-space: pre-wrap; font-family: ui-monospace, Menlo, Consolas, monospace;
        font-size: 13px; line-height: 1.55; background: #fff; border: 1px solid #ddd;
        padding: 10px; max-height: 72vh; overflow-y: auto; }
#text span { cursor: default; }
#text span.sel { outline: 1px solid #000; }
aside { flex: 1; min-width: 250px; font-size: 13px; }
aside h2 { font-size: 14px; margin: 6px 0; }
#ranking div { cursor: pointer; padding: 1px 4px; font-family: ui-monospace, monospace; }
#ranking div:hover { background: #eee; }
#ranking div.cur { background: #ffe9a8; }
#unitcorr td { padding: 0 6px; font-family: ui-monospace, monospace; }
#info { position: sticky; top: 0; background: #fff; border: 1px solid #ddd; padding: 6px;
        min-height: 118px; font-family: ui-monospace, monospace; white-space: pre; }
.legend { display: inline-block; width: 140px; height: 10px; vertical-align: middle;
          background: linear-gradient(to right, rgb(38,139,210), #fff, rgb(220,50,47)); }
</style>
</head>
<body>
<header>
<h1>__TITLE__</h1>
<div class="meta" id="meta"></div>
<div id="controls">
<label>signal <select id="signal"></select></label>
<label>unit <input id="unit" type="number" min="0" value="0"></label>
<button id="prev" type="button">&larr;</button><button id="next" type="button">&rarr;</button>
<label>rank units by <select id="feature"></select></label>
<span><span id="lo"></span> <span class="legend"></span> <span id="hi"></span></span>
</div>
</header>
<main>
<div id="text"></div>
<aside>
<div id="info">hover a character: its activation and the model's top-5 next predictions</div>
<h2>units most correlated with <span id="featname"></span></h2>
<div id="ranking"></div>
<h2>this unit against every feature</h2>
<table id="unitcorr"></table>
</aside>
</main>
<script type="application/json" id="data">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const N = D.n, H = D.hidden;
const S = {};
for (const s of D.signals) {
  const bin = atob(s.data);
  const q = new Int8Array(bin.length);
  for (let i = 0; i < bin.length; i++) q[i] = bin.charCodeAt(i);
  S[s.name] = Object.assign({}, s, {q: q});
}
const st = {signal: D.signals[0].name, unit: 0, feature: 0, pos: -1};
const $ = (id) => document.getElementById(id);
const textEl = $("text");
const spans = D.tokens.map((tok, i) => {
  const sp = document.createElement("span");
  sp.textContent = tok.split("\n").join("\u21b5\n");
  sp.dataset.i = i;
  textEl.appendChild(sp);
  return sp;
});
for (const s of D.signals) $("signal").add(new Option(s.label, s.name));
D.features.forEach((f, j) => $("feature").add(new Option(f, j)));
$("meta").textContent = D.meta;
$("unit").max = H - 1;

function value(name, u, i) { const s = S[name]; return s.q[u * N + i] / 127 * s.scale[u]; }
function colour(name, u, i) {
  const s = S[name];
  let x = s.q[u * N + i] / 127;
  if (s.center === 0.5) x = 2 * x - 1;
  const a = Math.min(1, Math.abs(x)).toFixed(3);
  return x >= 0 ? "rgba(220,50,47," + a + ")" : "rgba(38,139,210," + a + ")";
}
function fmt(x) { return (x >= 0 ? "+" : "") + x.toFixed(3); }
function showInfo(i) {
  if (i < 0 || i >= N) return;
  const tok = JSON.stringify(D.tokens[i]);
  const next = i + 1 < N ? JSON.stringify(D.tokens[i + 1]) : "(end)";
  let out = "position " + i + "  token " + tok + "\n";
  out += st.signal + "[" + st.unit + "] = " + fmt(value(st.signal, st.unit, i)) + "\n";
  out += "next: " + next + "  model's top 5:\n";
  for (let r = 0; r < D.top.ids[i].length; r++) {
    const id = D.top.ids[i][r];
    const shown = "'" + D.vocab[id] + "'";
    out += "  " + shown.padEnd(10) + (D.top.p[i][r] / 1000).toFixed(3) + "\n";
  }
  $("info").textContent = out;
}
function render() {
  const name = st.signal, u = st.unit, s = S[name];
  for (let i = 0; i < N; i++) spans[i].style.backgroundColor = colour(name, u, i);
  textEl.dataset.signal = name;
  textEl.dataset.unit = u;
  $("signal").value = name;
  $("unit").value = u;
  $("feature").value = st.feature;
  $("lo").textContent = s.center === 0.5 ? "0" : (-s.scale[u]).toFixed(2);
  $("hi").textContent = s.center === 0.5 ? "1" : s.scale[u].toFixed(2);
  $("featname").textContent = D.features[st.feature];
  const corr = D.corr[name][st.feature];
  const order = [...Array(H).keys()].sort((a, b) => Math.abs(corr[b]) - Math.abs(corr[a]));
  const rk = $("ranking");
  rk.textContent = "";
  for (const k of order.slice(0, 15)) {
    const d = document.createElement("div");
    d.textContent = "unit " + String(k).padStart(4) + "   r = " + fmt(corr[k] / 100);
    if (k === u) d.className = "cur";
    d.onclick = () => go({unit: k});
    rk.appendChild(d);
  }
  const tb = $("unitcorr");
  tb.textContent = "";
  D.features.forEach((f, j) => {
    const tr = tb.insertRow();
    tr.insertCell().textContent = f;
    tr.insertCell().textContent = fmt(D.corr[name][j][u] / 100);
  });
  for (const sp of textEl.querySelectorAll("span.sel")) sp.classList.remove("sel");
  if (st.pos >= 0 && st.pos < N) { spans[st.pos].classList.add("sel"); showInfo(st.pos); }
}
function readHash() {
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (p.has("signal") && S[p.get("signal")]) st.signal = p.get("signal");
  const u = parseInt(p.get("unit"), 10);
  if (!isNaN(u)) st.unit = Math.max(0, Math.min(H - 1, u));
  const f = parseInt(p.get("feature"), 10);
  if (!isNaN(f) && f >= 0 && f < D.features.length) st.feature = f;
  const pos = parseInt(p.get("pos"), 10);
  st.pos = isNaN(pos) ? -1 : pos;
  render();
}
function go(change) {
  Object.assign(st, change);
  let h = "signal=" + st.signal + "&unit=" + st.unit + "&feature=" + st.feature;
  if (st.pos >= 0) h += "&pos=" + st.pos;
  if ("#" + h === location.hash) render(); else location.hash = h;
}
$("signal").onchange = (e) => go({signal: e.target.value});
$("unit").onchange = (e) => {
  go({unit: Math.max(0, Math.min(H - 1, parseInt(e.target.value, 10) || 0))});
};
$("feature").onchange = (e) => go({feature: parseInt(e.target.value, 10)});
$("prev").onclick = () => go({unit: (st.unit + H - 1) % H});
$("next").onclick = () => go({unit: (st.unit + 1) % H});
textEl.addEventListener("mouseover", (e) => {
  if (e.target.dataset && e.target.dataset.i !== undefined) showInfo(+e.target.dataset.i);
});
textEl.addEventListener("click", (e) => {
  if (e.target.dataset && e.target.dataset.i !== undefined) go({pos: +e.target.dataset.i});
});
window.addEventListener("hashchange", readHash);
readHash();
</script>
</body>
</html>
"""
