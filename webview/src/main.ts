/** The Persona Lens panel app. Renders with plain DOM + @vscode-elements/elements; themed by --vscode-* variables. */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { loadState, onHostMessage, post, saveState } from './vscodeApi';
import type { SelfCheckResult } from '../../src/core/selfCheck';
import { VectorsView } from './vectorsView';

const state = loadState();
const app = document.getElementById('app')!;

app.innerHTML = `
  <h1>Persona Lens</h1>
  <section class="card" aria-labelledby="engine-heading">
    <h2 id="engine-heading">Engine</h2>
    <p>Status: <span id="status" data-status="stopped">stopped</span></p>
    <p id="engine-info" class="muted"></p>
    <div class="row">
      <vscode-button id="self-check">Run self-check</vscode-button>
      <vscode-button id="cancel" secondary disabled>Cancel</vscode-button>
    </div>
    <vscode-progress-bar id="progress" hidden></vscode-progress-bar>
    <p id="result"></p>
    <p id="error" class="error" role="alert"></p>
  </section>
  <section class="card" aria-labelledby="vectors-heading">
    <h2 id="vectors-heading">Vectors</h2>
    <div id="vectors"></div>
  </section>`;

const el = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

function showResult(result: SelfCheckResult): void {
  el('result').textContent = `Self-check passed: ${result.runs} runs, ${result.msPerRun.toFixed(1)} ms/run, ${result.gflops.toFixed(1)} GFLOP/s, max error ${result.maxAbsError.toExponential(1)} (onnxruntime ${result.onnxruntime}).`;
}

if (state.lastSelfCheck) showResult(state.lastSelfCheck);

const vectorsView = new VectorsView(el('vectors'), (path) => {
  saveState({ ...loadState(), selectedVector: path });
  vectorsView.select(path);
});

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
      return;
  }
});

post({ type: 'ready' });
