/** The Persona Lens panel app. Renders with plain DOM + @vscode-elements/elements; themed by --vscode-* variables. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { loadState, onHostMessage, post, saveState } from './vscodeApi';
import { describePanelModel, PANEL_TABS, parseShiftReport, type PanelModel, type PanelTab, type SelfCheckResult } from '../../src/protocol/panelProtocol';
import { VectorsView } from './vectorsView';
import { SteeringView } from './steeringView';
import { MonitorView } from './monitorView';
import { DatasetPanelView } from './datasetView';
import { ShiftView } from './shiftView';
import { Tabs } from './tabs';
import { onThemeChange } from './theme';

const state = loadState();
const app = document.getElementById('app')!;

const TAB_LABELS: Record<PanelTab, string> = { vectors: 'Vectors', steering: 'Steering lab', monitor: 'Monitor', dataset: 'Dataset', shift: 'Shift' };

app.innerHTML = `
  <h1>Persona Lens</h1>
  <section class="card" aria-labelledby="engine-heading">
    <h2 id="engine-heading">Engine</h2>
    <p>Model: <span id="engine-model">–</span> <span id="model-state" class="badge" data-state="not loaded"></span> · Engine: <span id="status" data-status="stopped">stopped</span></p>
    <p id="model-details" class="muted"></p>
    <p id="engine-info" class="muted"></p>
    <div class="row">
      <vscode-button id="self-check">Run self-check</vscode-button>
      <vscode-button id="cancel" secondary disabled>Cancel</vscode-button>
    </div>
    <vscode-progress-bar id="progress" hidden></vscode-progress-bar>
    <p id="result"></p>
    <p id="error" class="error" role="alert"></p>
  </section>
  <div role="tablist" id="tabs" aria-label="Persona Lens views">
    ${PANEL_TABS.map((t) => `<button type="button" role="tab" id="tab-${t}" aria-controls="panel-${t}">${TAB_LABELS[t]}</button>`).join('')}
  </div>
  ${PANEL_TABS.map((t) => `<section class="card tabpanel" role="tabpanel" id="panel-${t}" aria-labelledby="tab-${t}" tabindex="0" hidden><h2>${TAB_LABELS[t]}</h2><div id="${t === 'vectors' ? 'vectors' : `${t}-view`}"></div></section>`).join('')}`;

const el = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

function showModel(model: PanelModel): void {
  el('engine-model').textContent = model.label;
  const state = el('model-state');
  state.textContent = model.state;
  state.dataset.state = model.state;
  el('model-details').textContent = describePanelModel(model);
}

function showResult(result: SelfCheckResult): void {
  el('result').textContent = `Self-check passed: ${result.runs} runs, ${result.msPerRun.toFixed(1)} ms/run, ${result.gflops.toFixed(1)} GFLOP/s, max error ${result.maxAbsError.toExponential(1)} (onnxruntime ${result.onnxruntime}${result.device ? ` on ${result.device}` : ''}).`;
}

if (state.lastSelfCheck) showResult(state.lastSelfCheck);

const vectorsView = new VectorsView(el('vectors'), (path) => {
  saveState({ ...loadState(), selectedVector: path });
  vectorsView.select(path);
});
const steeringView = new SteeringView(el('steering-view'));
const monitorView = new MonitorView(el('monitor-view'));
const datasetView = new DatasetPanelView(el('dataset-view'));
const shiftView = new ShiftView(el('shift-view'));
// Persisted state is checked like a host message: a report from an older panel may not fit this one.
shiftView.show(parseShiftReport(state.shiftReport));

/** Charts drawn while their tab was hidden have no size: draw again when it is shown. */
const redraw: Record<PanelTab, () => void> = {
  vectors: () => vectorsView.redraw(),
  steering: () => steeringView.redraw(),
  monitor: () => monitorView.redraw(),
  dataset: () => datasetView.redraw(),
  shift: () => shiftView.redraw(),
};

const tabs = new Tabs(PANEL_TABS, state.selectedTab && PANEL_TABS.includes(state.selectedTab) ? state.selectedTab : 'vectors', (tab, previous) => {
  saveState({ ...loadState(), selectedTab: tab });
  // The host runs the live monitor only while its view is shown.
  if (tab === 'monitor') monitorView.setShown(true);
  else if (previous === 'monitor') monitorView.setShown(false);
  if (tab === 'dataset' && previous !== undefined) post({ type: 'requestDataset' });
  if (previous !== undefined) redraw[tab]();
});

onThemeChange(() => redraw[tabs.selected]());

el('self-check').addEventListener('click', () => {
  el('error').textContent = '';
  el('progress').hidden = false;
  el<HTMLButtonElement>('cancel').disabled = false;
  post({ type: 'runSelfCheck', runs: 20 });
});
el('cancel').addEventListener('click', () => post({ type: 'cancel' }));

onHostMessage((message) => {
  switch (message.type) {
    case 'engineStatus': {
      const status = el('status');
      status.textContent = message.status;
      status.dataset.status = message.status;
      if (message.model !== undefined) showModel(message.model);
      if (message.info) el('engine-info').textContent = `pid ${message.info.pid} · Node ${message.info.node} · onnxruntime ${message.info.onnxruntime}`;
      if (message.status !== 'busy') {
        el('progress').hidden = true;
        el<HTMLButtonElement>('cancel').disabled = true;
      }
      return;
    }
    case 'selfCheckProgress': {
      const bar = el('progress') as HTMLElement & { value: number; max: number };
      bar.hidden = false;
      bar.max = message.total;
      bar.value = message.done;
      return;
    }
    case 'selfCheckResult':
      showResult(message.result);
      saveState({ ...loadState(), lastSelfCheck: message.result });
      return;
    case 'error':
      el('error').textContent = message.message;
      return;
    case 'vectors':
      vectorsView.show(message.vectors, loadState().selectedVector);
      steeringView.setVectors(message.vectors);
      monitorView.setVectors(message.vectors);
      return;
    case 'steerStarted':
      steeringView.started(message.results, message.coefficients);
      return;
    case 'steerProgress':
      steeringView.progress(message.done, message.total);
      return;
    case 'steerCell':
      steeringView.cell(message.cell);
      return;
    case 'steerFinished':
      steeringView.finished(message.status, message.message, message.judge);
      return;
    case 'steerResults':
      steeringView.opened(message.results, message.source);
      return;
    case 'steerStatus':
      steeringView.setStatus(message.message, message.error);
      return;
    case 'monitor':
      monitorView.show(message.result, message.source);
      return;
    case 'monitorStatus':
      monitorView.status(message.message);
      return;
    case 'dataset':
      datasetView.show(message.view);
      return;
    case 'shiftReport':
      saveState({ ...loadState(), shiftReport: message.report });
      shiftView.show(message.report);
      if (message.reveal) tabs.select('shift');
      return;
  }
});

post({ type: 'ready' });
