/**
 * A small fake of the `vscode` module for extension-layer tests in plain Node. It records what the extension
 * registers and shows, so tests can assert on it. Only the API surface the extension uses is provided.
 */
import type { HostToPanel } from '../../src/protocol/panelProtocol';
type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(value: T): void {
    for (const l of [...this.listeners]) l(value);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class Uri {
  private constructor(readonly scheme: string, readonly fsPath: string) {}
  static file(p: string): Uri {
    return new Uri('file', p);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, [base.fsPath, ...parts].join('/'));
  }
  toString(): string {
    return `${this.scheme}://${this.fsPath}`;
  }
}

export class ThemeColor {
  constructor(readonly id: string) {}
}
export enum OverviewRulerLane { Left = 1, Center = 2, Right = 4, Full = 7 }
export enum DiagnosticSeverity { Error = 0, Warning = 1, Information = 2, Hint = 3 }
export class Position {
  constructor(readonly line: number, readonly character: number) {}
}
export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(sl: number, sc: number, el: number, ec: number) {
    this.start = new Position(sl, sc);
    this.end = new Position(el, ec);
  }
}
// Here, not added by a test: a module imported before a test extends this mock keeps a copy of its exports.
export class Selection extends Range {
  get isEmpty() {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}
export enum TextEditorRevealType { Default = 0, InCenter = 1, InCenterIfOutsideViewport = 2, AtTop = 3 }
export class Diagnostic {
  source?: string;
  code?: string;
  constructor(readonly range: Range, readonly message: string, readonly severity: DiagnosticSeverity) {}
}
export class MarkdownString {
  value = '';
  appendMarkdown(v: string) {
    this.value += v;
    return this;
  }
  appendText(v: string) {
    this.value += v;
    return this;
  }
}
export class Hover {
  constructor(readonly contents: MarkdownString) {}
}
export class CodeLens {
  constructor(readonly range: Range, readonly command?: { title: string; command: string; arguments?: unknown[] }) {}
}

/** Diagnostics and decorations the extension set, by document uri / decoration type. */
export const published = { diagnostics: new Map<string, Diagnostic[]>(), decorations: new Map<number, Range[]>(), hoverProviders: [] as { provideHover(document: unknown, position: Position): Hover | undefined }[] };
let decorationTypes = 0;

export const languages = {
  createDiagnosticCollection: () => ({
    set: (uri: Uri, d: Diagnostic[]) => published.diagnostics.set(uri.toString(), d),
    delete: (uri: Uri) => published.diagnostics.delete(uri.toString()),
    dispose: () => undefined,
  }),
  registerHoverProvider: (_selector: unknown, provider: (typeof published.hoverProviders)[number]) => {
    published.hoverProviders.push(provider);
    return disposable();
  },
  registerCodeLensProvider: () => disposable(),
};

export enum ConfigurationTarget { Global = 1, Workspace = 2, WorkspaceFolder = 3 }
export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum ViewColumn { Active = -1, Beside = -2, One = 1 }
export enum QuickPickItemKind { Separator = -1, Default = 0 }

export interface Recorded {
  commands: Map<string, (...args: unknown[]) => unknown>;
  serializers: string[];
  messages: { level: 'info' | 'warning' | 'error'; text: string }[];
  outputLines: string[];
  configuration: Record<string, unknown>;
  /** Answers the next quick pick / open dialog / input box: a label, a path, or a string. */
  webviewPanels: FakeWebviewPanel[];
  /** Every quick pick shown: its title and items. */
  quickPicks: { title?: string; items: { label: string; description?: string; detail?: string }[] }[];
  answers: { quickPick?: string; quickPicks?: string[]; quickPickMany?: string[]; openDialog?: string; openDialogs?: string[]; inputBox?: string; saveDialog?: string; warningChoice?: string };
}

export const recorded: Recorded = { commands: new Map(), serializers: [], messages: [], outputLines: [], configuration: {}, webviewPanels: [], quickPicks: [], answers: {} };

export function resetRecorded(): void {
  recorded.commands.clear();
  recorded.serializers.length = 0;
  recorded.messages.length = 0;
  recorded.outputLines.length = 0;
  recorded.configuration = {};
  recorded.webviewPanels.length = 0;
  recorded.quickPicks.length = 0;
  recorded.answers = {};
}

const disposable = (fn: () => void = () => undefined) => ({ dispose: fn });

export const commands = {
  registerCommand(id: string, fn: (...args: unknown[]) => unknown) {
    if (recorded.commands.has(id)) throw new Error(`command ${id} already registered`);
    recorded.commands.set(id, fn);
    return disposable(() => recorded.commands.delete(id));
  },
  executeCommand(id: string, ...args: unknown[]) {
    const fn = recorded.commands.get(id);
    if (!fn) return Promise.reject(new Error(`command ${id} not found`));
    return Promise.resolve(fn(...args));
  },
};

/** A webview panel that records what the host posts and lets a test send the webview's messages. */
export class FakeWebviewPanel {
  readonly posted: HostToPanel[] = [];
  /** A new panel's webview is still loading: not live until the test says so. */
  visible = false;
  revealed = 0;
  private receive: ((e: unknown) => void) | undefined;
  private disposeListener: (() => void) | undefined;
  readonly webview = {
    html: '',
    cspSource: 'vscode-resource:',
    options: {},
    asWebviewUri: (uri: { fsPath: string }) => `vscode-resource:${uri.fsPath}`,
    postMessage: async (m: HostToPanel) => {
      this.posted.push(structuredClone(m));
      return true;
    },
    onDidReceiveMessage: (listener: (e: unknown) => void) => {
      this.receive = listener;
      return { dispose: () => undefined };
    },
  };
  onDidDispose(listener: () => void) {
    this.disposeListener = listener;
    return { dispose: () => undefined };
  }
  reveal() {
    this.revealed++;
  }
  dispose() {
    const l = this.disposeListener;
    this.disposeListener = undefined;
    l?.();
  }
  /** The webview sends a message; resolves when the host has handled it. */
  async send(message: unknown) {
    await this.receive?.(message);
  }
}


export const window = {
  createWebviewPanel: () => {
    const panel = new FakeWebviewPanel();
    recorded.webviewPanels.push(panel);
    return panel;
  },
  visibleTextEditors: [] as unknown[],
  activeTextEditor: undefined as unknown,
  onDidChangeVisibleTextEditors: () => disposable(),
  onDidChangeActiveTextEditor: () => disposable(),
  onDidChangeTextEditorSelection: () => disposable(),
  createTextEditorDecorationType: () => {
    const id = ++decorationTypes;
    return { key: id, dispose: () => undefined };
  },
  createStatusBarItem(alignment?: StatusBarAlignment, priority?: number) {
    const item = { alignment, priority, text: '', tooltip: '' as string | undefined, command: undefined as string | undefined, name: '', shown: false, disposed: false, show() { item.shown = true; }, hide() { item.shown = false; }, dispose() { item.disposed = true; } };
    statusBarItems.push(item);
    return item;
  },
  createOutputChannel(name: string) {
    return {
      name,
      appendLine: (line: string) => recorded.outputLines.push(line),
      append: (text: string) => recorded.outputLines.push(text),
      show: () => undefined,
      dispose: () => undefined,
    };
  },
  registerWebviewPanelSerializer(viewType: string) {
    recorded.serializers.push(viewType);
    return disposable();
  },
  showInformationMessage(text: string) {
    recorded.messages.push({ level: 'info', text });
    return Promise.resolve(undefined);
  },
  showWarningMessage(text: string) {
    recorded.messages.push({ level: 'warning', text });
    return Promise.resolve(recorded.answers.warningChoice);
  },
  showErrorMessage(text: string) {
    recorded.messages.push({ level: 'error', text });
    return Promise.resolve(undefined);
  },
  async showQuickPick<T extends { label: string; picked?: boolean }>(itemsOrPromise: T[] | Promise<T[]>, options?: { canPickMany?: boolean; title?: string }) {
    // VS Code takes the items or a promise of them (the pick shows busy until they come).
    const items = await itemsOrPromise;
    recorded.quickPicks.push({ title: options?.title, items });
    if (options?.canPickMany) return Promise.resolve(items.filter((i) => (recorded.answers.quickPickMany ? recorded.answers.quickPickMany.includes(i.label) : i.picked)));
    const label = recorded.answers.quickPicks?.length ? recorded.answers.quickPicks.shift() : recorded.answers.quickPick;
    return Promise.resolve(items.find((i) => i.label === label));
  },
  showSaveDialog() {
    const p = recorded.answers.saveDialog;
    return Promise.resolve(p ? Uri.file(p) : undefined);
  },
  showOpenDialog() {
    const p = recorded.answers.openDialogs?.length ? recorded.answers.openDialogs.shift() : recorded.answers.openDialog;
    return Promise.resolve(p ? [Uri.file(p)] : undefined);
  },
  showInputBox() {
    return Promise.resolve(recorded.answers.inputBox);
  },
  withProgress<R>(_options: unknown, task: (progress: { report(v: unknown): void }, token: { onCancellationRequested: (l: () => void) => { dispose(): void }; isCancellationRequested: boolean }) => Promise<R>): Promise<R> {
    return task({ report: () => undefined }, { isCancellationRequested: false, onCancellationRequested: () => disposable() });
  },
};

/** A read-only TextDocument over a file on disk. */
export function textDocument(fsPath: string) {
  const text: string = require('node:fs').readFileSync(fsPath, 'utf8');
  const lines = text.split('\n');
  return {
    uri: Uri.file(fsPath),
    fileName: fsPath,
    lineCount: lines.length,
    getText: () => text,
    lineAt: (i: number) => ({ text: lines[i] }),
  };
}

export const lm = {
  selectChatModels: () => Promise.resolve([]),
};
function readOnlyProxy<T extends object>(value: T): T {
  return new Proxy(value, {
    set: () => {
      throw new TypeError('configuration values are read-only');
    },
    get: (target, key, receiver) => {
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'object' && v !== null ? readOnlyProxy(v) : v;
    },
  });
}

/** Fired by tests (and `update`) as VS Code fires onDidChangeConfiguration. */
export const configurationChanged = new EventEmitter<{ affectsConfiguration(section: string): boolean }>();

export enum StatusBarAlignment { Left = 1, Right = 2 }
/** Status-bar items the extension created. */
export const statusBarItems: { text: string; tooltip?: string; command?: string; shown: boolean; disposed: boolean }[] = [];

export class RelativePattern {
  constructor(readonly base: Uri | { uri: Uri }, readonly pattern: string) {}
}

/** File watchers the extension created, so tests can fire their events. */
export const fileWatchers: { pattern: RelativePattern; created: EventEmitter<Uri>; changed: EventEmitter<Uri>; deleted: EventEmitter<Uri>; disposed: boolean }[] = [];

export const workspace = {
  onDidChangeConfiguration: configurationChanged.event,
  createFileSystemWatcher(pattern: RelativePattern) {
    const w = { pattern, created: new EventEmitter<Uri>(), changed: new EventEmitter<Uri>(), deleted: new EventEmitter<Uri>(), disposed: false };
    fileWatchers.push(w);
    return { onDidCreate: w.created.event, onDidChange: w.changed.event, onDidDelete: w.deleted.event, dispose: () => { w.disposed = true; } };
  },
  onDidChangeTextDocument: () => disposable(),
  onDidCloseTextDocument: () => disposable(),
  openTextDocument: (uri: Uri) => Promise.resolve(textDocument(uri.fsPath)),
  fs: { writeFile: (uri: Uri, data: Uint8Array) => Promise.resolve(require('node:fs').writeFileSync(uri.fsPath, data)) },
  onDidOpenTextDocument: () => disposable(),
  workspaceFolders: undefined as { uri: Uri }[] | undefined,
  findFiles: () => Promise.resolve([] as Uri[]),
  asRelativePath: (p: string | Uri) => (typeof p === 'string' ? p : p.fsPath),
  getConfiguration(section?: string) {
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        const full = section ? `${section}.${key}` : key;
        const value = full in recorded.configuration ? recorded.configuration[full] : fallback;
        // VS Code hands out object settings as read-only proxies, which IPC cannot clone: so does the mock.
        return (typeof value === 'object' && value !== null ? readOnlyProxy(value) : value) as T | undefined;
      },
      update(key: string, value: unknown) {
        const full = section ? `${section}.${key}` : key;
        recorded.configuration[full] = value;
        configurationChanged.fire({ affectsConfiguration: (s: string) => full === s || full.startsWith(`${s}.`) });
        return Promise.resolve();
      },
    };
  },
};
