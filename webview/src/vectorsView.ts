/**
 * Vectors view: for a chosen vector, per-layer charts of the separation of positive vs negative activations
 * projected on v̂ (means and spread), the vector's norm beside the residual norm, the layer search's score per
 * layer with the recommended layer marked, and the recommendation's validation (dose–response beside the random
 * control, suppression under eliciting prompts). Colours come from the VS Code theme.
 */
import type { ChartConfiguration } from 'chart.js';
import { describeEvaluation, type VectorSummary } from '../../src/protocol/panelProtocol';
import { Chart, chartTheme } from './theme';
import { layerLabels } from './viewMath';

export class VectorsView {
  private charts: Chart[] = [];
  private vectors: VectorSummary[] = [];
  private shown: VectorSummary | undefined;

  constructor(private readonly root: HTMLElement, private readonly onSelect: (path: string) => void) {
    root.innerHTML = `
      <div class="row"><label for="vector-select">Vector</label><select id="vector-select" aria-label="Vector"></select></div>
      <p id="vector-info" class="muted"></p>
      <p id="vectors-empty" class="muted" hidden>No persona vectors yet: run “Persona Lens: Extract Persona Vector…”.</p>
      <div class="charts">
        <figure><figcaption>Separation of positive vs negative responses on v̂, per layer (mean ± std)</figcaption><canvas id="chart-separation" role="img" aria-label="Separation per layer"></canvas></figure>
        <figure><figcaption>Vector norm and mean residual norm, per layer</figcaption><canvas id="chart-norms" role="img" aria-label="Norms per layer"></canvas></figure>
        <figure><figcaption>Layer search: judged trait score at +α per layer (no system prompt)</figcaption><canvas id="chart-sweep" role="img" aria-label="Layer search per layer"></canvas></figure>
        <figure id="validation-figure" hidden><figcaption>Validation at the recommended layer: dose–response beside a norm-matched random direction</figcaption><canvas id="chart-validation" role="img" aria-label="Dose–response at the recommended layer"></canvas><p id="validation-info" class="muted"></p></figure>
      </div>`;
    root.querySelector('select')!.addEventListener('change', (e) => this.onSelect((e.target as HTMLSelectElement).value));
  }

  show(vectors: VectorSummary[], selected?: string): void {
    this.vectors = vectors;
    const select = this.root.querySelector('select')!;
    select.innerHTML = '';
    for (const v of vectors) {
      const option = document.createElement('option');
      option.value = v.path;
      option.textContent = `${v.trait} · ${v.model}`;
      select.appendChild(option);
    }
    (this.root.querySelector('#vectors-empty') as HTMLElement).hidden = vectors.length > 0;
    const chosen = vectors.find((v) => v.path === selected) ?? vectors[0];
    if (chosen) {
      select.value = chosen.path;
      this.render(chosen);
    } else {
      this.destroyCharts();
      this.shown = undefined;
    }
  }

  select(path: string): void {
    const v = this.vectors.find((x) => x.path === path);
    if (v) this.render(v);
  }

  /** Re-render the charts (theme change, or the tab became visible). */
  redraw(): void {
    if (this.shown) this.render(this.shown);
  }

  private destroyCharts(): void {
    for (const c of this.charts) c.destroy();
    this.charts = [];
  }

  private render(v: VectorSummary): void {
    this.destroyCharts();
    this.shown = v;
    const c = chartTheme();
    const rows = layerLabels(v.rows);
    const rec = v.recommendedLayer;
    (this.root.querySelector('#vector-info') as HTMLElement).textContent =
      `${v.trait} on ${v.model}: ${v.keptPairs ?? '?'}/${v.totalPairs ?? '?'} pairs kept, judge ${v.judge ?? '?'}` + (rec !== undefined ? `; recommended layer ${rec}, α = ${v.recommendedCoefficient}` : '; no recommended layer');
    const sep = v.separation;
    const separation: ChartConfiguration = {
      type: 'line',
      data: {
        labels: rows,
        datasets: [
          { label: 'positive mean', data: sep.map((s) => s.posMean), borderColor: c.pos, backgroundColor: c.pos },
          { label: 'positive ± std', data: sep.map((s) => s.posMean + s.posStd), borderColor: c.pos, borderDash: [4, 4], pointRadius: 0, fill: '+1', backgroundColor: `${c.pos}22` },
          { label: '', data: sep.map((s) => s.posMean - s.posStd), borderColor: c.pos, borderDash: [4, 4], pointRadius: 0 },
          { label: 'negative mean', data: sep.map((s) => s.negMean), borderColor: c.neg, backgroundColor: c.neg },
          { label: 'negative ± std', data: sep.map((s) => s.negMean + s.negStd), borderColor: c.neg, borderDash: [4, 4], pointRadius: 0, fill: '+1', backgroundColor: `${c.neg}22` },
          { label: '', data: sep.map((s) => s.negMean - s.negStd), borderColor: c.neg, borderDash: [4, 4], pointRadius: 0 },
        ],
      },
      options: { animation: false, plugins: { legend: { labels: { filter: (item) => item.text !== '' } } }, scales: { y: { title: { display: true, text: 'projection on v̂' } } } },
    };
    const norms: ChartConfiguration = {
      type: 'bar',
      data: { labels: rows, datasets: [{ label: '|v|', data: v.vectorNorms, backgroundColor: c.accent }, { label: 'mean |h|', data: v.residualNorms, backgroundColor: c.muted }] },
      options: { animation: false },
    };
    const coefficients = [...new Set(v.sweep.map((s) => s.coefficient))].sort((a, b) => a - b);
    const palette = [c.other, c.accent, c.pos, c.neg, c.muted];
    const sweep: ChartConfiguration = {
      type: 'line',
      data: {
        labels: rows,
        datasets: coefficients.map((alpha, i) => ({
          label: `α = ${alpha}`,
          data: rows.map((_, r) => v.sweep.find((s) => s.row === r && s.coefficient === alpha)?.meanTrait ?? null),
          borderColor: palette[i % palette.length],
          backgroundColor: palette[i % palette.length],
          // The recommended cell is drawn large.
          pointRadius: rows.map((_, r) => (r === rec && alpha === v.recommendedCoefficient ? 8 : 3)),
          spanGaps: true,
        })),
      },
      options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: 'trait score' } } }, plugins: { title: { display: rec !== undefined, text: `recommended: layer ${rec}, α = ${v.recommendedCoefficient}` } } },
    };
    this.charts = [
      new Chart(this.root.querySelector('#chart-separation') as HTMLCanvasElement, separation),
      new Chart(this.root.querySelector('#chart-norms') as HTMLCanvasElement, norms),
      new Chart(this.root.querySelector('#chart-sweep') as HTMLCanvasElement, sweep),
    ];
    this.renderValidation(v);
  }

  private renderValidation(v: VectorSummary): void {
    const figure = this.root.querySelector('#validation-figure') as HTMLElement;
    const val = v.validation;
    figure.hidden = !val;
    if (!val) return;
    const c = chartTheme();
    const s = val.suppression;
    // A score the judge never gave is stored as null (JSON has no NaN).
    const score = (x: number | null) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(0) : '–');
    (this.root.querySelector('#validation-info') as HTMLElement).textContent =
      `Layer ${val.layer}, α = ${val.coefficient}, ${describeEvaluation(val.evaluation)}. Dose–response ${val.monotone ? 'is' : 'is not'} monotone. ` +
      `Under ${s.prompts} eliciting prompt(s): ${score(s.baselineTrait)} → ${score(s.trait)} at −α (coherence ${score(s.coherence)}).`;
    const points = val.doseResponse;
    const config: ChartConfiguration = {
      type: 'line',
      data: {
        labels: points.map((p) => `α = ${p.coefficient}`),
        datasets: [
          { label: `${v.trait} vector`, data: points.map((p) => p.trait), borderColor: c.accent, backgroundColor: c.accent },
          { label: 'random direction (control)', data: points.map((p) => p.randomTrait), borderColor: c.muted, backgroundColor: c.muted, borderDash: [6, 4] },
          { label: 'coherence', data: points.map((p) => p.coherence), borderColor: c.other, backgroundColor: c.other, borderDash: [2, 3] },
        ],
      },
      options: { animation: false, scales: { y: { min: 0, max: 100, title: { display: true, text: 'judged score' } } } },
    };
    this.charts.push(new Chart(this.root.querySelector('#chart-validation') as HTMLCanvasElement, config));
  }
}
