/**
 * A self-contained HTML report of a main-job run: chart.js is inlined and the data embedded, so the file opens
 * anywhere with no network. Charts: per-layer separation, ΔP histograms with the threshold line, and steering
 * dose–response beside the random-direction control.
 */
import type { MainJobResult } from './mainJob';
import { summaryTable, thresholdOf } from './mainJob';

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
/** JSON safe to embed in a <script> element. */
const embed = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

function histogram(values: number[], lo: number, hi: number, bins: number): number[] {
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo || 1)) * bins)))]++;
  return counts.map((c) => c / Math.max(values.length, 1));
}

export function renderReport(result: MainJobResult, chartJsSource: string): string {
  const BINS = 30;
  const histograms = result.traits.map((t) => {
    const sets = result.datasets.filter((d) => d.name === 'normal' || d.name.startsWith(`${t.trait}-`));
    const all = sets.flatMap((d) => d.values[t.trait].delta);
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    const normal = result.datasets.find((d) => d.name === 'normal');
    return {
      trait: t.trait,
      labels: Array.from({ length: BINS }, (_, i) => (lo + ((i + 0.5) * (hi - lo)) / BINS).toFixed(2)),
      sets: sets.map((d) => ({ name: d.name, share: histogram(d.values[t.trait].delta, lo, hi, BINS) })),
      threshold: normal ? thresholdOf(normal.values[t.trait].delta) : undefined,
      lo,
      hi,
    };
  });
  const data = { traits: result.traits, histograms };
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Persona Lens report — ${escapeHtml(result.model)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1f2328;padding:0 16px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}pre{background:#f6f8fa;padding:12px;overflow:auto;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}.card{border:1px solid #d0d7de;border-radius:6px;padding:12px}
.note{color:#59636e;font-size:.9em}
</style></head><body>
<h1>Persona Lens report — ${escapeHtml(result.model)}</h1>
<p class="note">Persona vectors (Chen et al. 2025, arXiv:2507.21509) extracted, steered and used to screen datasets on this model. Generated ${new Date().toISOString()} in ${result.seconds.toFixed(0)} s.</p>
<h2>Summary</h2><pre>${escapeHtml(summaryTable(result))}</pre>
<h2>Per-layer separation</h2><p class="note">Effect size of the projection of positive vs negative response activations on v̂, per residual row (0 = embeddings).</p>
<div class="card"><canvas id="separation" height="110"></canvas></div>
<h2>Steering dose–response</h2><p class="note">Judged trait score with α·v added at the recommended layer (no system prompt; ${escapeHtml(result.traits[0]?.doseResponse.evaluation ?? '')}), beside a norm-matched random direction (the control). The extraction measures this itself when it validates its recommendation.</p>
<div class="grid" id="dose"></div>
<h2>Dataset screening: ΔP histograms</h2><p class="note">Share of samples per ΔP bin for the normal set and the trait's mild and strong sets; the red line is the 95th percentile of the normal set.</p>
<div class="grid" id="hist"></div>
<script>${chartJsSource}</script>
<script>
const DATA = ${embed(data)};
const COLORS = ['#0969da', '#cf222e', '#8250df', '#1a7f37', '#bf8700'];
new Chart(document.getElementById('separation'), { type: 'line', data: { labels: DATA.traits[0].separation.map((_, i) => 'row ' + i), datasets: DATA.traits.map((t, i) => ({ label: t.trait, data: t.separation, borderColor: COLORS[i % COLORS.length], tension: 0.2 })) }, options: { animation: false, scales: { y: { title: { display: true, text: 'effect size (Cohen d)' } } } } });
const thresholdLine = { id: 'thresholdLine', afterDraw(chart, _args, opts) { if (opts.value === undefined) return; const { ctx, chartArea, scales } = chart; const x = scales.x.left + (opts.value - opts.lo) / (opts.hi - opts.lo || 1) * (scales.x.right - scales.x.left); ctx.save(); ctx.strokeStyle = '#cf222e'; ctx.lineWidth = 2; ctx.beginPath(); ctx.moveTo(x, chartArea.top); ctx.lineTo(x, chartArea.bottom); ctx.stroke(); ctx.restore(); } };
for (const [i, t] of DATA.traits.entries()) {
  const card = document.createElement('div'); card.className = 'card'; card.innerHTML = '<canvas></canvas>'; document.getElementById('dose').appendChild(card);
  new Chart(card.querySelector('canvas'), { type: 'line', data: { labels: t.doseResponse.coefficients.map((c) => 'α=' + c), datasets: [
    { label: t.trait + ' vector (layer ' + t.layer + ')', data: t.doseResponse.trait, borderColor: COLORS[i % COLORS.length] },
    { label: 'random direction', data: t.doseResponse.randomTrait, borderColor: '#8c959f', borderDash: [6, 4] },
    { label: 'coherence', data: t.doseResponse.coherence, borderColor: '#1a7f37', borderDash: [2, 3] } ] },
    options: { animation: false, plugins: { title: { display: true, text: t.trait } }, scales: { y: { min: 0, max: 100, title: { display: true, text: 'judged score' } } } } });
}
for (const h of DATA.histograms) {
  const card = document.createElement('div'); card.className = 'card'; card.innerHTML = '<canvas></canvas>'; document.getElementById('hist').appendChild(card);
  new Chart(card.querySelector('canvas'), { type: 'bar', plugins: [thresholdLine], data: { labels: h.labels, datasets: h.sets.map((s, i) => ({ label: s.name, data: s.share, backgroundColor: COLORS[i % COLORS.length] + '99' })) },
    options: { animation: false, plugins: { title: { display: true, text: h.trait + ' ΔP' }, thresholdLine: { value: h.threshold, lo: h.lo, hi: h.hi } }, scales: { x: { title: { display: true, text: 'ΔP' } }, y: { title: { display: true, text: 'share of samples' } } } } });
}
</script></body></html>`;
}
