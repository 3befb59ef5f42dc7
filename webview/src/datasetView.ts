/**
 * Dataset view: for the active screened file, a histogram of the screening metric (ΔP by default) for one trait
 * with the flagging threshold drawn as a line, and the top samples. Clicking a bar (or, with the chart focused,
 * ←/→ then Enter) or a top-sample row asks the host to select those lines in the editor.
 */
import { metricLabel, type DatasetView, type LineRange } from '../../src/protocol/panelProtocol';
import { Chart, ChartCursor, chartTheme, htmlLegend } from './theme';
import { binCountFor, histogram, topK, type Histogram } from './viewMath';
import { loadState, post, saveState } from './vscodeApi';

const TOP_K = 10;

export class DatasetPanelView {
  private view: DatasetView | undefined;
  private bins: Histogram | undefined;
  private chart: Chart | undefined;
  /** The bin chosen with the keyboard. */
  private readonly cursor: ChartCursor;
  private readonly q = <T extends HTMLElement = HTMLElement>(sel: string) => this.root.querySelector(sel) as T;

  constructor(private readonly root: HTMLElement) {
    root.innerHTML = `
      <p id="dataset-empty" class="muted">No screened dataset: open a .jsonl or .json file and run “Persona Lens: Screen Dataset”.</p>
      <div id="dataset-body" hidden>
        <p id="dataset-file" class="muted"></p>
        <div class="row"><label for="dataset-trait">Trait</label><select id="dataset-trait" aria-label="Trait"></select></div>
        <figure><figcaption id="dataset-caption"></figcaption><div class="chart-box"><canvas id="dataset-chart" tabindex="0" role="img"></canvas></div><div id="dataset-legend" class="chart-legend"></div></figure>
        <h3 id="dataset-topk-heading">Highest samples</h3>
        <table id="dataset-topk" aria-labelledby="dataset-topk-heading"><thead><tr><th scope="col">#</th><th scope="col">lines</th><th scope="col" id="dataset-metric-head">value</th><th scope="col">flagged</th></tr></thead><tbody></tbody></table>
      </div>`;
    this.q<HTMLSelectElement>('#dataset-trait').addEventListener('change', (e) => {
      saveState({ ...loadState(), datasetTrait: (e.target as HTMLSelectElement).value });
      this.render();
    });
    this.cursor = new ChartCursor(
      this.q<HTMLCanvasElement>('#dataset-chart'),
      () => (this.chart && this.bins ? { chart: this.chart, count: this.bins.counts.length, datasets: [0] } : undefined),
      (bin) => this.reveal(this.bins!.members[bin]),
    );
  }

  show(view: DatasetView | undefined): void {
    this.view = view;
    this.q('#dataset-empty').hidden = !!view;
    this.q('#dataset-body').hidden = !view;
    if (!view) {
      this.chart?.destroy();
      this.chart = undefined;
      return;
    }
    const select = this.q<HTMLSelectElement>('#dataset-trait');
    const previous = select.value || loadState().datasetTrait;
    select.replaceChildren(...view.traits.map((t) => Object.assign(document.createElement('option'), { value: t.trait, textContent: t.trait })));
    if (view.traits.some((t) => t.trait === previous)) select.value = previous!;
    this.render();
  }

  redraw(): void {
    if (this.view) this.render();
  }

  private traitIndex(): number {
    return Math.max(0, this.view?.traits.findIndex((t) => t.trait === this.q<HTMLSelectElement>('#dataset-trait').value) ?? 0);
  }

  private reveal(sampleIndices: number[]): void {
    if (!this.view || !sampleIndices.length) return;
    const ranges: LineRange[] = sampleIndices.map((i) => ({ startLine: this.view!.samples[i].startLine, endLine: this.view!.samples[i].endLine }));
    post({ type: 'revealLines', uri: this.view.uri, ranges });
  }

  private render(): void {
    const view = this.view!;
    const t = this.traitIndex();
    const trait = view.traits[t];
    const label = metricLabel(view.metric);
    const values = view.samples.map((s) => s.values[t]);
    this.bins = histogram(values, binCountFor(values.length), trait.threshold);
    this.q('#dataset-file').textContent = `${view.file} · ${view.samples.length} samples · ${trait.flagged} flagged for ${trait.trait} (${label} > ${trait.threshold.toFixed(2)})`;
    this.q('#dataset-caption').textContent = `${label} per sample for ${trait.trait}; the line is the flagging threshold. Click a bar (or focus the chart: ←/→, Enter) to select its lines.`;
    this.q('#dataset-chart').setAttribute('aria-label', `Histogram of ${label} for ${trait.trait} with threshold ${trait.threshold.toFixed(2)}`);
    this.q('#dataset-metric-head').textContent = label;
    this.renderChart(trait.threshold, label);
    this.renderTopK(values, trait.threshold);
  }

  private renderChart(threshold: number, label: string): void {
    const bins = this.bins!;
    const c = chartTheme();
    const centers = bins.counts.map((_, i) => (bins.edges[i] + bins.edges[i + 1]) / 2);
    const maxCount = Math.max(1, ...bins.counts);
    this.chart?.destroy();
    this.chart = new Chart(this.q<HTMLCanvasElement>('#dataset-chart'), {
      type: 'bar',
      data: {
        datasets: [
          {
            type: 'bar',
            label: 'samples',
            data: centers.map((x, i) => ({ x, y: bins.counts[i] })),
            // Bins wholly above the threshold are the flagged ones.
            backgroundColor: centers.map((_, i) => (bins.edges[i] >= threshold ? c.pos : c.accent)),
            barPercentage: 1,
            categoryPercentage: 1,
            grouped: false,
          },
          {
            type: 'line',
            label: `threshold ${threshold.toFixed(2)}`,
            data: [{ x: threshold, y: 0 }, { x: threshold, y: maxCount }],
            borderColor: c.pos,
            backgroundColor: c.pos,
            borderDash: [6, 4],
            borderWidth: 2,
            pointRadius: 0,
          },
        ],
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          // No bar-chart padding: the axis spans exactly the bins, so bars sit on their value ranges.
          x: { type: 'linear', offset: false, min: bins.edges[0], max: bins.edges[bins.edges.length - 1], title: { display: true, text: label } },
          y: { beginAtZero: true, title: { display: true, text: 'samples' }, ticks: { precision: 0 } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            filter: (item) => item.datasetIndex === 0,
            callbacks: { title: (items) => items.map((i) => `${bins.edges[i.dataIndex].toFixed(2)} – ${bins.edges[i.dataIndex + 1].toFixed(2)}`), label: (item) => `${bins.counts[item.dataIndex]} sample(s)` },
          },
        },
        onClick: (event, _elements, chart) => {
          const hit = chart.getElementsAtEventForMode(event as unknown as Event, 'nearest', { intersect: true }, false).find((e) => e.datasetIndex === 0);
          if (hit) this.reveal(bins.members[hit.index]);
        },
      },
    });
    htmlLegend(this.chart, this.q('#dataset-legend'));
  }

  private renderTopK(values: number[], threshold: number): void {
    const view = this.view!;
    const body = this.q('#dataset-topk tbody');
    body.replaceChildren(
      ...topK(values, TOP_K).map((i, rank) => {
        const s = view.samples[i];
        const button = Object.assign(document.createElement('button'), { className: 'link', textContent: s.startLine === s.endLine ? `line ${s.startLine}` : `lines ${s.startLine}–${s.endLine}` });
        button.addEventListener('click', () => this.reveal([i]));
        const row = document.createElement('tr');
        row.className = 'topk-row';
        const cells = [String(rank + 1), button, values[i].toFixed(3), values[i] > threshold ? '⚠ yes' : 'no'].map((content) => {
          const td = document.createElement('td');
          td.append(content);
          return td;
        });
        row.append(...cells);
        return row;
      }),
    );
  }
}
