/** The webview side of the panel protocol: typed post, validated receive, persisted state. */
import { parseHostToPanel, type HostToPanel, type PanelState, type PanelToHost } from '../../src/protocol/panelProtocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();

export function post(message: PanelToHost): void {
  api.postMessage(message);
}

export function onHostMessage(handler: (message: HostToPanel) => void): void {
  window.addEventListener('message', (event: MessageEvent) => {
    const message = parseHostToPanel(event.data);
    if (message) handler(message);
    else console.warn('Persona Lens panel: ignored a malformed host message', event.data);
  });
}

export function loadState(): PanelState {
  const state = api.getState();
  return typeof state === 'object' && state !== null ? (state as PanelState) : {};
}

export function saveState(state: PanelState): void {
  api.setState(state);
}
