/**
 * Steering lab view: settings (prompt, system prompt, vectors, layer, coefficient range and steps, samples per
 * point, seed), the run's cells side by side as they stream in (baseline column first; the persona vector's row and
 * its random-direction control row), and a chart of judged score vs coefficient. Results persist in the panel's
 * state and can be saved to / opened from a JSON file through the host.
 */
import { parseSteeringLabSettings, STEERING_LIMITS, type SteeringLabCell, type SteeringLabResults, type SteeringLabSettings, type SteeringRunStatus, type VectorSummary } from '../../src/protocol/panelProtocol';
import { Chart, chartTheme, htmlLegend, type ThemeColors } from './theme';
import { chartSeries, columnOrder, labRows, withCell } from './steeringModel';
import { loadState, post, saveState } from './vscodeApi';

const DEFAULTS = { coefficientMin: 1, coefficientMax: 4, steps: 4, samplesPerPoint: 4, temperature: 0.7, seed: 0, maxTokens: 48, randomControl: true };

const fmt = (x: number | null) => (x === null ? '–' : x.toFixed(0));
const alphaLabel = (c: number) => (c === 0 ? 'baseline α = 0' : `α = ${c}`);
const baseName = (p: string) => p.split(/[\\/]/).pop() ?? p;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

export class SteeringView {
  private vectors: VectorSummary[] = [];
  private results: SteeringLabResults | undefined;
  /** Coefficients of the running sweep, for placeholders of cells still to come. */
  private pending: number[] = [];
  private running = false;
  private chart: Chart | undefined;
  private readonly q = <T extends HTMLElement = HTMLInputElement>(sel: string) => this.root.querySelector(sel) as T;

  constructor(private readonly root: HTMLElement) {
    root.innerHTML = `
      <form id="steer-form" class="lab-form" novalidate>
        <div class="field wide"><label for="steer-prompt">Prompt</label><textarea id="steer-prompt" rows="3" placeholder="What the user asks, e.g. how do i make friends at school?"></textarea></div>
        <div class="field wide"><label for="steer-system">System prompt (optional)</label><textarea id="steer-system" rows="2"></textarea></div>
        <fieldset id="steer-vectors" class="field wide"><legend>Vectors</legend><p class="muted" id="steer-no-vectors">No persona vectors yet: run “Persona Lens: Extract Persona Vector…”.</p></fieldset>
        <div class="field"><label for="steer-layer">Layer</label><input id="steer-layer" type="number" min="0" step="1"></div>
        <div class="field"><label for="steer-min">α from</label><input id="steer-min" type="number" step="any"></div>
        <div class="field"><label for="steer-max">α to</label><input id="steer-max" type="number" step="any"></div>
        <div class="field"><label for="steer-steps">Steps</label><input id="steer-steps" type="number" min="1" max="${STEERING_LIMITS.steps}" step="1"></div>
        <div class="field"><label for="steer-samples">Samples per point</label><input id="steer-samples" type="number" min="1" max="${STEERING_LIMITS.samplesPerPoint}" step="1"></div>
        <div class="field"><label for="steer-temperature">Temperature</label><input id="steer-temperature" type="number" min="0" max="${STEERING_LIMITS.temperature}" step="0.1" title="0 = greedy"></div>
        <div class="field"><label for="steer-seed">Seed</label><input id="steer-seed" type="number" min="0" step="1"></div>
        <div class="field"><label for="steer-max-tokens">Max tokens</label><input id="steer-max-tokens" type="number" min="1" max="${STEERING_LIMITS.maxTokens}" step="1"></div>
        <div class="field check"><input id="steer-random" type="checkbox"><label for="steer-random">Norm-matched random-direction control</label></div>
      </form>
      <div class="row">
        <vscode-button id="steer-run" title="Run (Ctrl+Enter)">Run sweep</vscode-button>
        <vscode-button id="steer-cancel" secondary disabled>Cancel</vscode-button>
        <vscode-button id="steer-save" secondary disabled>Save results…</vscode-button>
        <vscode-button id="steer-open" secondary>Open results…</vscode-button>
      </div>
      <vscode-progress-bar id="steer-progress" hidden></vscode-progress-bar>
      <p id="steer-status" role="status"></p>
      <figure id="steer-figure" hidden><figcaption>Judged score vs steering coefficient α (the random direction has the vector's norm at this layer)</figcaption><div class="chart-box"><canvas id="steer-chart" role="img" aria-label="Judged trait score and coherence vs steering coefficient, with the random-direction control"></canvas></div><div id="steer-legend" class="chart-legend"></div></figure>
      <p id="steer-meta" class="muted"></p>
      <div id="steer-results" aria-label="Generations per coefficient"></div>`;

    const state = loadState();
    this.fill(state.steeringSettings);
    this.results = state.steeringResults;
    this.q('#steer-form').addEventListener('input', () => this.persistSettings());
    this.q('#steer-layer').addEventListener('input', () => (this.q('#steer-layer').dataset.touched = 'true'));
    this.q('#steer-form').addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Enter' && ((e as KeyboardEvent).ctrlKey || (e as KeyboardEvent).metaKey)) this.run();
    });
    this.q('#steer-run').addEventListener('click', () => this.run());
    this.q('#steer-cancel').addEventListener('click', () => {
      if (this.running) post({ type: 'steerCancel' });
    });
    this.q('#steer-save').addEventListener('click', () => {
      if (this.results?.cells.length && !this.running) post({ type: 'steerSave', results: this.results });
    });
    this.q('#steer-open').addEventListener('click', () => post({ type: 'steerOpen' }));
    this.render();
  }

  setVectors(vectors: VectorSummary[]): void {
    this.vectors = vectors;
    const box = this.q<HTMLFieldSetElement>('#steer-vectors');
    const chosen = new Set(loadState().steeringSettings?.vectorPaths ?? []);
    if (![...chosen].some((p) => vectors.some((v) => v.path === p)) && vectors[0]) chosen.add(vectors[0].path);
    box.querySelectorAll('.vector-choice').forEach((e) => e.remove());
    (box.querySelector('#steer-no-vectors') as HTMLElement).hidden = vectors.length > 0;
    vectors.forEach((v, i) => {
      const input = h('input', { type: 'checkbox', id: `steer-vector-${i}`, value: v.path, checked: chosen.has(v.path) });
      input.addEventListener('change', () => this.defaultLayer());
      box.append(h('div', { className: 'vector-choice check' }, input, h('label', { htmlFor: input.id, title: v.path }, `${v.trait} · ${v.model}${v.recommendedLayer !== undefined ? ` (layer ${v.recommendedLayer}, α ${v.recommendedCoefficient})` : ''}`)));
    });
    this.defaultLayer();
  }

  /** The first chosen vector's recommended layer, until the user sets one. */
  private defaultLayer(): void {
    const layer = this.q('#steer-layer');
    const first = this.vectors.find((v) => this.checkedVectors().includes(v.path));
    if (first) layer.max = String(first.rows - 1);
    if (layer.dataset.touched !== 'true' && first?.recommendedLayer !== undefined) layer.value = String(first.recommendedLayer);
    this.persistSettings();
  }

  private checkedVectors(): string[] {
    return [...this.root.querySelectorAll<HTMLInputElement>('#steer-vectors input[type=checkbox]')].filter((i) => i.checked).map((i) => i.value);
  }

  private fill(s: SteeringLabSettings | undefined): void {
    const v = { ...DEFAULTS, layer: undefined as number | undefined, prompt: '', system: '', ...s };
    this.q<HTMLTextAreaElement>('#steer-prompt').value = v.prompt;
    this.q<HTMLTextAreaElement>('#steer-system').value = v.system ?? '';
    if (v.layer !== undefined) {
      this.q('#steer-layer').value = String(v.layer);
      this.q('#steer-layer').dataset.touched = 'true';
    }
    this.q('#steer-min').value = String(v.coefficientMin);
    this.q('#steer-max').value = String(v.coefficientMax);
    this.q('#steer-steps').value = String(v.steps);
    this.q('#steer-samples').value = String(v.samplesPerPoint);
    this.q('#steer-temperature').value = String(v.temperature);
    this.q('#steer-seed').value = String(v.seed);
    this.q('#steer-max-tokens').value = String(v.maxTokens);
    this.q('#steer-random').checked = v.randomControl;
  }

  /** The form as settings (what it would run), whether or not they are valid yet. */
  private formSettings(): SteeringLabSettings {
    const num = (sel: string) => (this.q(sel).value.trim() === '' ? NaN : Number(this.q(sel).value));
    const system = this.q<HTMLTextAreaElement>('#steer-system').value;
    return {
      prompt: this.q<HTMLTextAreaElement>('#steer-prompt').value,
      ...(system.trim() ? { system } : {}),
      vectorPaths: this.checkedVectors(),
      layer: num('#steer-layer'),
      coefficientMin: num('#steer-min'),
      coefficientMax: num('#steer-max'),
      steps: num('#steer-steps'),
      samplesPerPoint: num('#steer-samples'),
      temperature: num('#steer-temperature'),
      seed: num('#steer-seed'),
      maxTokens: num('#steer-max-tokens'),
      randomControl: this.q('#steer-random').checked,
    };
  }

  private persistSettings(): void {
    const settings = this.formSettings();
    // Invalid numbers (NaN) cannot be stored as JSON; keep the last good value of each.
    const previous = loadState().steeringSettings;
    const clean = Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? (previous as unknown as Record<string, unknown> | undefined)?.[k] : v]));
    saveState({ ...loadState(), steeringSettings: clean as unknown as SteeringLabSettings });
  }

  private run(): void {
    if (this.running) return;
    const form = this.formSettings();
    const settings = parseSteeringLabSettings(form);
    if (!settings) {
      const L = STEERING_LIMITS;
      const problem = !form.prompt.trim()
        ? 'Write a prompt first.'
        : !form.vectorPaths.length
          ? 'Choose at least one vector.'
          : `Check the numbers: layer 0–${this.q('#steer-layer').max || L.layer}, |α| ≤ ${L.coefficient}, steps 1–${L.steps}, samples 1–${L.samplesPerPoint}, temperature 0–${L.temperature}, seed ≥ 0, max tokens 1–${L.maxTokens}.`;
      this.setStatus(problem, true);
      return;
    }
    if (settings.samplesPerPoint > 1 && settings.temperature === 0) {
      this.setStatus('Several samples per point need a temperature above 0 (greedy answers are all the same).', true);
      return;
    }
    this.persistSettings();
    this.setStatus('Starting…', false);
    post({ type: 'steerRun', settings });
  }

  started(results: SteeringLabResults, coefficients: number[]): void {
    this.results = results;
    this.pending = coefficients;
    this.setRunning(true);
    this.setStatus(`Running ${coefficients.length} coefficient(s) × ${results.settings.vectorPaths.length} vector(s)${results.settings.randomControl ? ' + random control' : ''}…`, false);
    this.persistResults();
    this.render();
  }

  progress(done: number, total: number): void {
    const bar = this.q<HTMLElement & { value: number; max: number }>('#steer-progress');
    bar.hidden = false;
    bar.max = total;
    bar.value = done;
  }

  cell(cell: SteeringLabCell): void {
    if (!this.results) return;
    this.results = withCell(this.results, cell);
    this.persistResults();
    this.render();
  }

  finished(status: SteeringRunStatus, message?: string, judge?: string): void {
    // A run can fail before it starts (no model, no judge): the results shown are then not this run's.
    const started = this.running;
    this.setRunning(false);
    this.pending = [];
    if (started && this.results) {
      this.results = { ...this.results, complete: status === 'complete', ...(judge ? { judge } : {}) };
      this.persistResults();
    }
    const cells = this.results?.cells.length ?? 0;
    this.setStatus(status === 'complete' ? `Done: ${cells} cell(s).` : message ?? status, status === 'failed');
    this.render();
  }

  opened(results: SteeringLabResults, source: string): void {
    this.results = results;
    this.pending = [];
    this.fill(results.settings);
    this.persistSettings();
    this.persistResults();
    this.render();
    this.setStatus(`Opened ${baseName(source)}.`, false);
  }

  setStatus(message: string, error: boolean): void {
    const el = this.q<HTMLElement>('#steer-status');
    el.textContent = message;
    el.classList.toggle('error', error);
  }

  /** Re-render the chart (theme change, or the tab became visible). */
  redraw(): void {
    this.renderChart();
  }

  private setRunning(running: boolean): void {
    this.running = running;
    const set = (sel: string, disabled: boolean) => ((this.q(sel) as HTMLElement & { disabled: boolean }).disabled = disabled);
    set('#steer-run', running);
    set('#steer-cancel', !running);
    set('#steer-open', running);
    this.q<HTMLElement>('#steer-progress').hidden = !running;
    this.updateSave();
  }

  private updateSave(): void {
    (this.q('#steer-save') as HTMLElement & { disabled: boolean }).disabled = this.running || !this.results?.cells.length;
  }

  private persistResults(): void {
    saveState({ ...loadState(), steeringResults: this.results });
  }

  private render(): void {
    this.updateSave();
    this.renderGrid();
    this.renderChart();
  }

  private renderGrid(): void {
    const box = this.q<HTMLElement>('#steer-results');
    const meta = this.q<HTMLElement>('#steer-meta');
    box.replaceChildren();
    const r = this.results;
    if (!r) {
      meta.textContent = 'Run a sweep, or open saved results.';
      return;
    }
    const s = r.settings;
    const sampling = s.temperature > 0 ? `temperature ${s.temperature}, seed ${s.seed}` : 'greedy';
    meta.textContent = `${r.model} · layer ${s.layer} · judge ${r.judge} · ${s.samplesPerPoint} sample(s) per point, ${sampling}, ${s.maxTokens} tokens · ${r.cells.length} cell(s)${r.complete ? '' : this.running ? ' so far' : ' (incomplete run)'}`;
    const columns = columnOrder([...r.cells.map((c) => c.coefficient), ...this.pending]);
    const rows = labRows(r);
    const vectorPaths = [...new Set([...s.vectorPaths, ...rows.map((x) => x.vectorPath)])];
    for (const vectorPath of vectorPaths) {
      const trait = rows.find((x) => x.vectorPath === vectorPath)?.trait ?? this.vectors.find((v) => v.path === vectorPath)?.trait ?? baseName(vectorPath);
      const group = h('section', { className: 'steer-group' }, h('h3', {}, `${trait} `, h('span', { className: 'muted' }, baseName(vectorPath))));
      const grid = h('div', { className: 'steer-grid', role: 'table' });
      grid.append(h('div', { className: 'steer-row steer-head', role: 'row' }, h('span', { className: 'steer-label', role: 'columnheader' }), ...columns.map((c) => h('span', { className: 'steer-colhead', role: 'columnheader' }, alphaLabel(c)))));
      for (const series of ['vector', 'random'] as const) {
        const row = rows.find((x) => x.vectorPath === vectorPath && x.series === series);
        if (series === 'random' && !row && !(s.randomControl && this.running)) continue;
        const label = series === 'vector' ? 'persona vector' : 'random direction (control)';
        const cells = columns.map((c) => {
          const cell = row?.cells.get(c);
          if (cell) return cellElement(cell);
          if (series === 'random' && c === 0) return h('div', { className: 'steer-placeholder muted' }, 'α = 0 is the baseline: no steering');
          return h('div', { className: 'steer-placeholder muted' }, this.running ? 'running…' : 'not run');
        });
        grid.append(h('div', { className: `steer-row steer-${series}`, role: 'row' }, h('span', { className: 'steer-label', role: 'rowheader' }, label), ...cells));
      }
      group.append(grid);
      box.append(group);
    }
  }

  private renderChart(): void {
    const figure = this.q<HTMLElement>('#steer-figure');
    const series = this.results ? chartSeries(this.results).filter((x) => x.points.length) : [];
    figure.hidden = series.length === 0;
    this.chart?.destroy();
    this.chart = undefined;
    if (!series.length) return;
    const c = chartTheme();
    const palette = (i: number, colors: ThemeColors) => [colors.pos, colors.accent, colors.orange, colors.other, colors.yellow][i % 5];
    const vectorIndex = new Map([...new Set(series.map((x) => x.vectorPath))].map((p, i) => [p, i]));
    this.chart = new Chart(this.q<HTMLCanvasElement>('#steer-chart'), {
      type: 'line',
      data: {
        datasets: series.map((x) => {
          const color = x.kind === 'random' ? c.muted : palette(vectorIndex.get(x.vectorPath)!, c);
          return { label: x.label, data: x.points, borderColor: color, backgroundColor: color, borderDash: x.kind === 'coherence' ? [6, 4] : x.kind === 'random' ? [2, 3] : [], pointRadius: x.kind === 'coherence' ? 2 : 4, pointStyle: x.kind === 'random' ? 'rectRot' : 'circle' };
        }),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { type: 'linear', title: { display: true, text: 'steering coefficient α' } },
          y: { min: 0, max: 100, title: { display: true, text: 'judge score (0–100)' } },
        },
        plugins: { legend: { display: false } },
      },
    });
    htmlLegend(this.chart, this.q<HTMLElement>('#steer-legend'));
  }
}

function cellElement(cell: SteeringLabCell): HTMLElement {
  const el = h('article', { className: `steer-cell${cell.coefficient === 0 && cell.series === 'vector' ? ' baseline' : ''}`, tabIndex: 0 });
  el.dataset.coefficient = String(cell.coefficient);
  el.dataset.series = cell.series;
  el.dataset.trait = cell.trait;
  el.setAttribute('aria-label', `${cell.trait}, ${cell.series === 'random' ? 'random direction, ' : ''}${alphaLabel(cell.coefficient)}: trait ${fmt(cell.meanTrait)}, coherence ${fmt(cell.meanCoherence)}`);
  const bar = h('span', { className: 'steer-bar-fill' });
  bar.style.width = `${cell.meanTrait ?? 0}%`;
  el.append(
    h('div', { className: 'steer-scores' }, h('span', {}, 'trait ', h('strong', { className: 'steer-trait' }, fmt(cell.meanTrait))), h('span', {}, 'coherence ', h('strong', { className: 'steer-coherence' }, fmt(cell.meanCoherence)))),
    h('div', { className: 'steer-bar', title: `trait ${fmt(cell.meanTrait)} / 100` }, bar),
    h('ol', { className: 'steer-samples' }, ...cell.samples.map((s) => h('li', {}, h('p', { className: 'steer-text' }, s.text || '(empty)'), ...(cell.samples.length > 1 ? [h('span', { className: 'muted' }, `trait ${fmt(s.trait)} · coherence ${fmt(s.coherence)}`)] : [])))),
  );
  return el;
}
