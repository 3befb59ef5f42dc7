/**
 * Shift view: the last "Compare Checkpoints…" result (finetuning shift). A chart of each trait's shift at its
 * vector's layer against the random-direction control (±RMS), then per trait a card: the verdict, the judged trait
 * and coherence scores base → tuned, and the shift per layer with the random band and the vector's layer marked.
 * With the per-layer chart focused, ←/→/Home/End step through the layers; every number is also in a table.
 */
import type { PanelShiftReport, PanelTraitShift } from '../../src/protocol/panelProtocol';
import { Chart, ChartCursor, chartTheme, htmlLegend, translucent, verticalMarker, type ThemeColors } from './theme';
import { layerLabels } from './viewMath';
import { scoreChange, scoresMissing, shiftVerdict, shortModelLabel, signed } from './shiftModel';

/** Height of the summary chart: a row per trait. */
const summaryHeight = (traits: number) => 70 + 44 * traits;

export class ShiftView {
  private report: PanelShiftReport | undefined;
  private charts: Chart[] = [];
  private readonly q = <T extends HTMLElement = HTMLElement>(sel: string) => this.root.querySelector(sel) as T;

  constructor(private readonly root: HTMLElement) {
    root.innerHTML = `
      <div id="shift-empty" class="muted">
        <p>No comparison yet. Run “Persona Lens: Compare Checkpoints…”: choose the base checkpoint, the fine-tune (a checkpoint folder or a LoRA adapter folder) and the persona vectors to measure; the result shows here.</p>
        <p>In a terminal, <code>persona-lens shift --base DIR --tuned DIR --vector VEC.safetensors</code> (or <code>--adapter DIR</code> for a LoRA adapter) prints the same measurement.</p>
      </div>
      <div id="shift-body" hidden>
        <p id="shift-header" class="shift-header"><strong id="shift-tuned"></strong> <span class="muted">vs</span> <strong id="shift-base"></strong></p>
        <p id="shift-meta" class="muted"></p>
        <p id="shift-judge-note" class="shift-note" role="note" hidden></p>
        <figure><figcaption>Shift at each vector's layer: (tuned − base) · v̂ of the last prompt token, against the random control (±RMS over norm-matched random directions)</figcaption><div id="shift-summary-box" class="chart-box"><canvas id="shift-summary" role="img"></canvas></div><div id="shift-summary-legend" class="chart-legend"></div></figure>
        <div id="shift-traits"></div>
      </div>`;
  }

  show(report: PanelShiftReport | undefined): void {
    this.report = report;
    this.q('#shift-empty').hidden = !!report;
    this.q('#shift-body').hidden = !report;
    if (!report) {
      this.destroyCharts();
      this.q('#shift-traits').replaceChildren();
      return;
    }
    const label = (id: string, full: string) => Object.assign(this.q(id), { textContent: shortModelLabel(full), title: full });
    label('#shift-tuned', report.tuned);
    label('#shift-base', report.base);
    this.q('#shift-meta').textContent = `tuned vs base · last prompt token, ${report.questions} evaluation question(s) per trait, no system prompt · ${report.traits.length} trait(s)`;
    const note = this.q('#shift-judge-note');
    const missing = scoresMissing(report);
    note.hidden = !missing;
    note.textContent = missing ? `Judged scores: ${report.judgeNote ?? 'the judge gave no score for some answers.'}` : '';
    this.q('#shift-traits').replaceChildren(...report.traits.map((t, i) => this.traitCard(t, i)));
    this.redraw();
  }

  /** Re-render the charts (theme change, or the tab became visible). */
  redraw(): void {
    this.destroyCharts();
    const report = this.report;
    if (!report) return;
    const c = chartTheme();
    this.charts.push(this.summaryChart(report, c));
    report.traits.forEach((t, i) => this.charts.push(this.layerChart(t, i, c)));
  }

  private destroyCharts(): void {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
  }

  private traitCard(t: PanelTraitShift, i: number): HTMLElement {
    const card = document.createElement('section');
    card.className = 'shift-trait';
    card.setAttribute('aria-labelledby', `shift-trait-${i}-name`);
    card.innerHTML = `
      <h3 id="shift-trait-${i}-name"></h3>
      <p class="shift-verdict" data-field="verdict"></p>
      <div class="shift-trait-body">
        <dl class="shift-stats">
          <div><dt data-field="shift-label"></dt><dd data-field="shift"></dd></div>
          <div><dt>random control (RMS)</dt><dd data-field="random"></dd></div>
          <div><dt>trait score, base → tuned</dt><dd data-field="trait-score"></dd></div>
          <div><dt>coherence, base → tuned</dt><dd data-field="coherence"></dd></div>
          <div><dt data-field="change-label"></dt><dd data-field="change"></dd></div>
        </dl>
        <figure class="shift-layers">
          <figcaption>Shift per layer, with the random control's ±RMS band; the dashed line is the vector's layer. Focus the chart and use ←/→ to read each layer.</figcaption>
          <div class="chart-box short"><canvas id="shift-layers-${i}" tabindex="0" role="img"></canvas></div>
          <div id="shift-layers-${i}-legend" class="chart-legend"></div>
        </figure>
      </div>
      <details><summary>Per-layer values</summary><table class="shift-table"><thead><tr><th scope="col">layer</th><th scope="col">shift</th><th scope="col">random (RMS)</th></tr></thead><tbody></tbody></table></details>`;
    const field = (name: string) => card.querySelector(`[data-field="${name}"]`) as HTMLElement;
    const verdict = shiftVerdict(t);
    card.querySelector('h3')!.textContent = `${t.trait} · layer ${t.layer}`;
    field('verdict').textContent = `${signed(t.shift)} is ${verdict.text}`;
    field('verdict').dataset.direction = verdict.direction;
    field('shift-label').textContent = `shift at layer ${t.layer}`;
    field('shift').textContent = signed(t.shift, 3);
    field('random').textContent = `±${t.randomShift.toFixed(3)}`;
    for (const [name, key] of [['trait-score', 'trait'], ['coherence', 'coherence']] as const) {
      const s = scoreChange(t.base, t.tuned, key);
      field(name).textContent = `${s.base} → ${s.tuned}${s.delta !== undefined ? ` (${signed(s.delta, 1)})` : ''}`;
    }
    field('change-label').textContent = `|tuned − base| at layer ${t.layer}`;
    field('change').textContent = t.activationChange.toFixed(3);
    const labels = layerLabels(t.perLayer.length);
    card.querySelector('tbody')!.replaceChildren(
      ...t.perLayer.map((shift, r) => {
        const row = document.createElement('tr');
        if (r === t.layer) row.className = 'shift-vector-layer';
        row.append(...[r === t.layer ? `${labels[r]} (vector)` : labels[r], signed(shift, 3), t.perLayerRandom[r].toFixed(3)].map((text) => Object.assign(document.createElement('td'), { textContent: text })));
        return row;
      }),
    );
    const canvas = card.querySelector('canvas')!;
    canvas.setAttribute('aria-label', `${t.trait}: shift per layer; at the vector's layer ${t.layer} it is ${signed(t.shift)} against a random control of ±${t.randomShift.toFixed(2)}`);
    const cursor = new ChartCursor(canvas, () => {
      const chart = this.charts.find((ch) => ch.canvas === canvas);
      return chart && { chart, count: t.perLayer.length, datasets: [0, 1] };
    });
    cursor.index = t.layer;
    return card;
  }

  private summaryChart(report: PanelShiftReport, c: ThemeColors): Chart {
    const traits = report.traits;
    this.q('#shift-summary-box').style.height = `${summaryHeight(traits.length)}px`;
    const canvas = this.q<HTMLCanvasElement>('#shift-summary');
    canvas.setAttribute('aria-label', traits.map((t) => `${t.trait}: shift ${signed(t.shift)} at layer ${t.layer}, random control ±${t.randomShift.toFixed(2)}`).join('; '));
    const sign = (x: number) => (x >= 0 ? c.pos : c.neg);
    // Floating bars ([−RMS, +RMS]) draw the band; typed as such, then kept as a plain Chart like the others.
    const chart = new Chart<'bar', (number | [number, number])[]>(canvas, {
      type: 'bar',
      data: {
        labels: traits.map((t) => `${t.trait} (layer ${t.layer})`),
        datasets: [
          { label: 'shift (tuned − base) · v̂', data: traits.map((t) => t.shift), backgroundColor: traits.map((t) => sign(t.shift)), grouped: false, barPercentage: 0.45, order: 0 },
          {
            label: 'random directions ±RMS (control)',
            data: traits.map((t) => [-t.randomShift, t.randomShift]),
            backgroundColor: translucent(c.muted, 0.3),
            borderColor: c.muted,
            borderWidth: 1,
            grouped: false,
            barPercentage: 0.8,
            order: 1,
          },
        ],
      },
      options: {
        indexAxis: 'y',
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, title: { display: true, text: "(tuned − base) · v̂ at the vector's layer" } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: (item) => {
                const t = traits[item.dataIndex];
                return item.datasetIndex === 0 ? `shift ${signed(t.shift, 3)} (${shiftVerdict(t).ratio.toFixed(1)}× the control)` : `random control ±${t.randomShift.toFixed(3)}`;
              },
            },
          },
        },
      },
    }) as unknown as Chart;
    htmlLegend(chart, this.q('#shift-summary-legend'));
    return chart;
  }

  private layerChart(t: PanelTraitShift, i: number, c: ThemeColors): Chart {
    const canvas = this.q<HTMLCanvasElement>(`#shift-layers-${i}`);
    const color = t.shift >= 0 ? c.pos : c.neg;
    const band = translucent(c.muted, 0.25);
    const chart = new Chart(canvas, {
      type: 'line',
      data: {
        labels: layerLabels(t.perLayer.length),
        datasets: [
          {
            label: 'shift per layer',
            data: t.perLayer,
            borderColor: color,
            backgroundColor: color,
            pointBackgroundColor: t.perLayer.map((x) => (x >= 0 ? c.pos : c.neg)),
            // The vector's layer is drawn large.
            pointRadius: t.perLayer.map((_, r) => (r === t.layer ? 7 : 3)),
            order: 0,
          },
          { label: 'random directions ±RMS (control)', data: t.perLayerRandom, borderColor: c.muted, backgroundColor: band, borderWidth: 1, pointRadius: 0, fill: '+1', order: 1 },
          // The band's lower edge: part of the series above (no legend item of its own).
          { label: '', data: t.perLayerRandom.map((x) => -x), borderColor: c.muted, backgroundColor: band, borderWidth: 1, pointRadius: 0, order: 1 },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        scales: { x: { title: { display: true, text: 'layer' } }, y: { title: { display: true, text: '(tuned − base) · v̂' } } },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: (item) => item.datasetIndex < 2,
            callbacks: {
              title: (items) => items.map((item) => `${item.label}${item.dataIndex === t.layer ? " (vector's layer)" : ''}`)[0] ?? '',
              label: (item) => (item.datasetIndex === 0 ? `shift ${signed(t.perLayer[item.dataIndex], 3)}` : `random ±${t.perLayerRandom[item.dataIndex].toFixed(3)}`),
            },
          },
        },
      },
      plugins: [verticalMarker(t.layer, c.orange, `vector's layer ${t.layer}`)],
    });
    htmlLegend(chart, this.q(`#shift-layers-${i}-legend`));
    return chart;
  }
}
