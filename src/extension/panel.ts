/** The Persona Lens webview panel: one instance, restored after restarts by a serializer. */
import * as vscode from 'vscode';
import type { Services } from './commands';
import { panelHtml } from './panelHtml';
import { parsePanelMessage, type HostToPanel, type PanelToHost } from '../protocol/panelProtocol';
import { EngineError } from '../engine/client';
import { summarizeVectorFile, type VectorSummary } from '../core/vectors/vectorSummary';
import { vectorFiles } from './vectorFiles';

export class PersonaLensPanel implements vscode.Disposable {
  static readonly viewType = 'personaLens.panel';
  private static current: PersonaLensPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private running: AbortController | undefined;

  static show(context: vscode.ExtensionContext, services: Services): void {
    if (PersonaLensPanel.current) {
      PersonaLensPanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(PersonaLensPanel.viewType, 'Persona Lens', vscode.ViewColumn.Beside, PersonaLensPanel.options(context));
    PersonaLensPanel.current = new PersonaLensPanel(panel, context, services);
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, services: Services): void {
    panel.webview.options = PersonaLensPanel.options(context);
    PersonaLensPanel.current = new PersonaLensPanel(panel, context, services);
  }

  private static options(context: vscode.ExtensionContext): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview')],
    };
  }

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly context: vscode.ExtensionContext, private readonly services: Services) {
    const root = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
    panel.webview.html = panelHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'panel.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'panel.css')).toString(),
    });
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
    panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw), undefined, this.disposables);
    services.engine.onDidChangeStatus((status) => this.post({ type: 'engineStatus', status: status === 'crashed' ? 'crashed' : 'stopped' }), undefined, this.disposables);
  }

  private post(message: HostToPanel): void {
    void this.panel.webview.postMessage(message);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const message: PanelToHost | undefined = parsePanelMessage(raw);
    if (!message) {
      this.services.log.appendLine(`[panel] ignored a malformed message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.post({ type: 'engineStatus', status: this.services.engine.isRunning ? 'ready' : 'stopped' });
        this.postVectors();
        return;
      case 'requestVectors':
        this.postVectors();
        return;
      case 'cancel':
        this.running?.abort();
        return;
      case 'runSelfCheck':
        await this.runSelfCheck(message.runs);
        return;
    }
  }

  /** Every vector file in the workspace's .persona/vectors and the extension's storage. */
  private postVectors(): void {
    const vectors: VectorSummary[] = [];
    for (const file of vectorFiles(this.context)) {
      try {
        vectors.push(summarizeVectorFile(file));
      } catch (err) {
        this.services.log.appendLine(`[panel] skipped ${file}: ${(err as Error).message}`);
      }
    }
    this.post({ type: 'vectors', vectors });
  }

  private async runSelfCheck(runs: number): Promise<void> {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    this.post({ type: 'engineStatus', status: 'busy' });
    try {
      const info = await this.services.engine.request('info', {});
      const result = await this.services.engine.request('selfCheck', { runs, size: 256 }, {
        signal: controller.signal,
        onProgress: (p) => this.post({ type: 'selfCheckProgress', done: p.done, total: p.total }),
      });
      this.post({ type: 'selfCheckResult', result });
      this.post({ type: 'engineStatus', status: 'ready', info });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.post({ type: 'error', message });
      this.post({ type: 'engineStatus', status: err instanceof EngineError && err.code === 'crashed' ? 'crashed' : 'ready' });
    } finally {
      if (this.running === controller) this.running = undefined;
    }
  }

  dispose(): void {
    this.running?.abort();
    PersonaLensPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
