/** The Persona Lens webview panel: one instance, restored after restarts by a serializer. */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Services } from './commands';
import { panelHtml } from './panelHtml';
import { parsePanelMessage, toPanelShiftReport, type HostToPanel, type PanelShiftReport, type PanelToHost } from '../protocol/panelProtocol';
import type { EngineInfo } from '../protocol/engineProtocol';
import type { ShiftReport } from '../core/finetuning/finetuningShift';
import { summarizeVectorFile, type VectorSummary } from '../core/vectors/vectorSummary';
import { vectorFiles, watchVectorFiles } from './vectorFiles';
import { affectsPanelModel, currentModelPath, deviceSetting, engineModelOptions, panelModel } from './modelSelection';
import { judgeSpecFor } from './judges';
import type { ScreeningView } from './screening/screeningView';
import { LastTextEditor } from './panel/lastTextEditor';
import { SteeringLab } from './panel/steeringLabHost';
import { MonitorController } from './panel/monitorHost';
import { DatasetPanel } from './panel/datasetHost';
import type { SelectedModel } from './panel/panelDeps';

export interface PanelServices extends Services {
  /** Screening results per document, for the Dataset view. */
  screening: ScreeningView;
}

export class PersonaLensPanel implements vscode.Disposable {
  static readonly viewType = 'personaLens.panel';
  private static current: PersonaLensPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private running: AbortController | undefined;
  private readonly editors = new LastTextEditor();
  private readonly steering: SteeringLab;
  private readonly monitor: MonitorController;
  private readonly dataset: DatasetPanel;
  /** The last Compare Checkpoints report, sent again whenever the webview (re)loads. */
  private shiftReport: PanelShiftReport | undefined;
  /** The webview was not live when the report came: select the Shift tab once it is ready. */
  private revealShiftOnReady = false;

  static show(context: vscode.ExtensionContext, services: PanelServices): void {
    if (PersonaLensPanel.current) {
      PersonaLensPanel.current.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(PersonaLensPanel.viewType, 'Persona Lens', vscode.ViewColumn.Beside, PersonaLensPanel.options(context));
    PersonaLensPanel.current = new PersonaLensPanel(panel, context, services);
  }

  /** A Compare Checkpoints result: opens or reveals the panel, selects the Shift tab and shows the report there. */
  static showShiftReport(context: vscode.ExtensionContext, services: PanelServices, report: ShiftReport): void {
    // A hidden panel's webview is not running (no retainContextWhenHidden), and a new one is still loading: both
    // announce themselves with `ready`, which gets the report again.
    const live = PersonaLensPanel.current?.panel.visible === true;
    PersonaLensPanel.show(context, services);
    const current = PersonaLensPanel.current!;
    current.shiftReport = toPanelShiftReport(report);
    current.revealShiftOnReady = !live;
    current.post({ type: 'shiftReport', report: current.shiftReport, reveal: true });
  }

  static revive(panel: vscode.WebviewPanel, context: vscode.ExtensionContext, services: PanelServices): void {
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

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly context: vscode.ExtensionContext, private readonly services: PanelServices) {
    const root = vscode.Uri.joinPath(context.extensionUri, 'dist', 'webview');
    panel.webview.html = panelHtml({
      cspSource: panel.webview.cspSource,
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'panel.js')).toString(),
      styleUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(root, 'panel.css')).toString(),
    });
    const post = (message: HostToPanel) => this.post(message);
    const log = (line: string) => services.log.appendLine(line);
    const model = (): SelectedModel | undefined => {
      const modelPath = currentModelPath(context.extensionPath);
      return modelPath ? { modelPath, ...engineModelOptions(context), label: path.basename(modelPath) } : undefined;
    };
    const workspaceFolders = () => (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    this.steering = new SteeringLab({
      engine: services.engine,
      post,
      log,
      model,
      judge: (modelPath) => judgeSpecFor(context, modelPath),
      traitFolders: () => workspaceFolders().map((f) => path.join(f, '.persona', 'traits')),
      resultsFolder: () => {
        const ws = workspaceFolders()[0];
        const folder = ws ? path.join(ws, '.persona', 'steering') : path.join(context.globalStorageUri.fsPath, 'steering');
        mkdirSync(folder, { recursive: true });
        return folder;
      },
    });
    this.monitor = new MonitorController({
      engine: services.engine,
      post,
      log,
      model,
      vectorPaths: () => vectorFiles(context),
      source: () => {
        const editor = this.editors.editor;
        if (!editor) return undefined;
        const selection = !editor.selection.isEmpty;
        return { text: editor.document.getText(selection ? editor.selection : undefined), file: path.basename(editor.document.fileName), selection };
      },
    });
    // ScreeningView fires its CodeLens event whenever a file's results are set or cleared.
    this.dataset = new DatasetPanel(post, this.editors, { result: (uri) => services.screening.result(uri), onDidChangeResults: services.screening.onDidChangeCodeLenses });
    this.disposables.push(
      watchVectorFiles(context, () => {
        this.postVectors();
        this.monitor.textChanged();
      }),
      this.steering,
      this.monitor,
      this.dataset,
      this.editors,
      this.editors.onDidChangeEditor(() => this.monitor.textChanged()),
      this.editors.onDidChangeContent(() => this.monitor.textChanged()),
    );
    panel.onDidDispose(() => this.dispose(), undefined, this.disposables);
    panel.webview.onDidReceiveMessage((raw) => this.onMessage(raw), undefined, this.disposables);
    services.engine.onDidChangeStatus(() => this.postEngineStatus(), undefined, this.disposables);
    services.engine.onDidChangeModel(() => this.postEngineStatus(), undefined, this.disposables);
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affectsPanelModel(e)) this.postEngineStatus();
    }, undefined, this.disposables);
  }

  /** The engine card: the engine's state and the selected model's. */
  private postEngineStatus(info?: EngineInfo): void {
    this.post({ type: 'engineStatus', status: this.services.engine.status, model: panelModel(this.context.extensionPath, this.services.engine), ...(info ? { info } : {}) });
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
    try {
      await this.handle(message);
    } catch (err) {
      // Nothing the panel sends may take the extension host down: report and carry on.
      const text = err instanceof Error ? err.message : String(err);
      this.services.log.appendLine(`[panel] ${message.type} failed: ${text}`);
      this.post({ type: 'error', message: text });
    }
  }

  private async handle(message: PanelToHost): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.postEngineStatus();
        this.postVectors();
        this.dataset.update(true);
        if (this.shiftReport) {
          this.post({ type: 'shiftReport', report: this.shiftReport, reveal: this.revealShiftOnReady });
          this.revealShiftOnReady = false;
        }
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
      case 'steerRun':
        await this.steering.run(message.settings);
        return;
      case 'steerCancel':
        this.steering.cancel();
        return;
      case 'steerSave':
        await this.steering.save(message.results);
        return;
      case 'steerOpen':
        await this.steering.open();
        return;
      case 'monitorConfig':
        this.monitor.configure(message.enabled, message.heatmapVector);
        return;
      case 'requestDataset':
        this.dataset.update(true);
        return;
      case 'revealLines':
        await this.dataset.reveal(message.uri, message.ranges);
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
    try {
      const info = await this.services.engine.request('info', {});
      const result = await this.services.engine.request('selfCheck', { runs, size: 256, device: deviceSetting() }, {
        signal: controller.signal,
        onProgress: (p) => this.post({ type: 'selfCheckProgress', done: p.done, total: p.total }),
      });
      this.post({ type: 'selfCheckResult', result });
      this.postEngineStatus(info);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.post({ type: 'error', message });
      this.postEngineStatus();
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
