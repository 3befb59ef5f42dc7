/**
 * Monitor view: the active editor's text (or selection) as a prompt. A bar per loaded vector shows the projection of
 * the last prompt token on v̂ at the vector's recommended layer (it predicts how strongly the model is about to show
 * the trait); a heat map colours every token by its projection on one chosen vector. The host recomputes as you
 * type (debounced) while this view is shown.
 */
import type { MonitorResult, MonitorSource, VectorSummary } from '../../src/protocol/panelProtocol';
import { Chart, chartTheme, htmlLegend, verticalMarker } from './theme';
import { fixedHeatLevels, heatLevels, onReferenceScale } from './viewMath';
import { loadState, post, saveState } from './vscodeApi';

/** Strongest heat-map tint, in percent of the theme's red. */
const MAX_TINT = 70;

export class MonitorView {
  private result: MonitorResult | undefined;
  private chart: Chart | undefined;
  private shown = false;
  private readonly q = <T extends HTMLElement = HTMLElement>(sel: string) => this.root.querySelector(sel) as T;

  constructor(private readonly root: HTMLElement) {
    root.innerHTML = `
      <p id="monitor-source" class="muted">The active editor's text (or selection) is the prompt; results update as you type.</p>
      <p id="monitor-status" role="status"></p>
      <figure id="monitor-figure" hidden><figcaption id="monitor-caption">Projection of the last prompt token on each trait's v̂ (at the vector's recommended layer)</figcaption><div class="chart-box short"><canvas id="monitor-chart" role="img" aria-label="Last prompt token projection per trait"></canvas></div><div id="monitor-chart-legend" class="chart-legend"></div></figure>
      <div class="row"><label for="monitor-vector">Heat map for</label><select id="monitor-vector" aria-label="Vector for the heat map"></select></div>
      <div id="monitor-legend" class="heat-legend" hidden><span id="monitor-min"></span><span class="heat-scale" aria-hidden="true"></span><span id="monitor-max"></span><span id="monitor-layer" class="muted"></span></div>
      <div id="monitor-heatmap" class="heatmap" tabindex="0" role="document" aria-label="Prompt tokens coloured by their projection"></div>
      <ul id="monitor-skipped" class="muted"></ul>`;
    this.q<HTMLSelectElement>('#monitor-vector').addEventListener('change', (e) => {
      const path = (e.target as HTMLSelectElement).value;
      saveState({ ...loadState(), monitorVector: path });
      this.configure();
    });
  }

  /** The tab was shown or hidden: the host monitors only while it is shown. */
  setShown(shown: boolean): void {
    this.shown = shown;
    this.configure();
    if (shown) this.redraw();
  }

  private configure(): void {
    const heatmapVector = this.q<HTMLSelectElement>('#monitor-vector').value || undefined;
    post({ type: 'monitorConfig', enabled: this.shown, ...(heatmapVector ? { heatmapVector } : {}) });
  }

  setVectors(vectors: VectorSummary[]): void {
    const select = this.q<HTMLSelectElement>('#monitor-vector');
    const previous = select.value || loadState().monitorVector;
    select.replaceChildren(...vectors.map((v) => Object.assign(document.createElement('option'), { value: v.path, textContent: `${v.trait} · ${v.model}` })));
    if (vectors.some((v) => v.path === previous)) select.value = previous!;
    if (this.shown && select.value !== previous) this.configure();
  }

  status(message: string): void {
    this.q('#monitor-status').textContent = message;
  }

  show(result: MonitorResult, source: MonitorSource): void {
    this.result = result;
    const truncated = result.truncated ? ` (first ${result.truncated} tokens dropped)` : '';
    this.q('#monitor-source').textContent = `${source.file}${source.selection ? ' · selection' : ''} · ${result.tokens.length} prompt tokens${truncated}`;
    this.q('#monitor-skipped').replaceChildren(...result.skipped.map((s) => Object.assign(document.createElement('li'), { textContent: `Skipped ${s.vectorPath.split(/[\\/]/).pop()}: ${s.message}` })));
    this.renderHeatmap();
    this.redraw();
  }

  redraw(): void {
    this.chart?.destroy();
    this.chart = undefined;
    const r = this.result;
    this.q('#monitor-figure').hidden = !r?.projections.length;
    if (!r?.projections.length) return;
    const c = chartTheme();
    // With every vector calibrated, each bar sits on its own vector's fixed scale (0 = the extraction's
    // anti-trait prompts, 1 = its trait prompts), so the same text always gets the same bar.
    const scaled = r.projections.every((p) => p.reference);
    const values = r.projections.map((p) => (scaled ? onReferenceScale(p.value, p.reference!) : p.value));
    this.q('#monitor-caption').textContent = scaled
      ? 'How strongly the model\'s next answer is predicted to show each trait — not the tone of the text itself: 0 is where the extraction\'s anti-trait prompts sat, 1 where its trait prompts sat (last prompt token · v̂ at the recommended layer).'
      : 'Projection of the last prompt token on each trait\'s v̂ (at the vector\'s recommended layer). These vectors carry no calibration, so there is no reference scale: re-extract them for one.';
    const x = scaled
      ? { min: Math.min(-0.25, ...values), max: Math.max(1.25, ...values), title: { display: true, text: '0 = anti-trait prompts · 1 = trait prompts' } }
      : { title: { display: true, text: 'projection on v̂' } };
    this.chart = new Chart(this.q<HTMLCanvasElement>('#monitor-chart'), {
      type: 'bar',
      data: {
        labels: r.projections.map((p) => `${p.trait} (layer ${p.layer})`),
        datasets: [{ label: 'last prompt token · v̂', data: values, backgroundColor: values.map((v, i) => (scaled ? (v >= 0.5 ? c.pos : c.neg) : r.projections[i].value >= 0 ? c.pos : c.neg)) }],
      },
      options: {
        indexAxis: 'y',
        animation: false,
        maintainAspectRatio: false,
        scales: { x },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: (item) => `${r.projections[item.dataIndex].trait}: ${r.projections[item.dataIndex].value.toFixed(3)}${scaled ? ` (${values[item.dataIndex].toFixed(2)} on the reference scale)` : ''}` } } },
      },
      plugins: scaled ? [verticalMarker(0, c.neg, 'anti-trait prompts', 'monitorAntiMark'), verticalMarker(1, c.pos, 'trait prompts', 'monitorTraitMark')] : [],
    });
    htmlLegend(this.chart, this.q('#monitor-chart-legend'));
  }

  private renderHeatmap(): void {
    const box = this.q('#monitor-heatmap');
    const legend = this.q('#monitor-legend');
    const heat = this.result?.heatmap;
    box.replaceChildren();
    legend.hidden = !heat;
    if (!this.result || !heat) return;
    // A fixed colour range when the vector has a reference scale, so two texts can be compared.
    const { levels, min, max } = heat.reference ? fixedHeatLevels(heat.values, heat.reference) : heatLevels(heat.values);
    this.q('#monitor-min').textContent = heat.reference ? `${min.toFixed(2)} (anti-trait prompts)` : min.toFixed(2);
    this.q('#monitor-max').textContent = heat.reference ? `${max.toFixed(2)} (trait prompts)` : max.toFixed(2);
    this.q('#monitor-layer').textContent = `${heat.trait}, layer ${heat.layer}: each token's residual · v̂${heat.reference ? ', on the vector\'s fixed scale' : ', scaled to this text'}`;
    this.result.tokens.forEach((text, i) => {
      const span = document.createElement('span');
      span.className = 'tok';
      span.textContent = text;
      // CSSOM, not a style attribute: the CSP allows it, and the tint follows the theme's red.
      span.style.backgroundColor = `color-mix(in srgb, var(--vscode-charts-red, #f14c4c) ${Math.round(levels[i] * MAX_TINT)}%, transparent)`;
      span.dataset.value = heat.values[i].toFixed(3);
      if (levels[i] > 2 / 3) span.classList.add('hot');
      span.title = `${JSON.stringify(text)} → ${heat.values[i].toFixed(3)}`;
      box.append(span);
    });
  }
}
