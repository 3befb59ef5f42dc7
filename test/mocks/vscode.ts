/**
 * A small fake of the `vscode` module for extension-layer tests in plain Node. It records what the extension
 * registers and shows, so tests can assert on it. Only the API surface the extension uses is provided.
 */
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

export enum ConfigurationTarget { Global = 1, Workspace = 2, WorkspaceFolder = 3 }
export enum ProgressLocation { SourceControl = 1, Window = 10, Notification = 15 }
export enum ViewColumn { Active = -1, Beside = -2, One = 1 }

export interface Recorded {
  commands: Map<string, (...args: unknown[]) => unknown>;
  serializers: string[];
  messages: { level: 'info' | 'warning' | 'error'; text: string }[];
  outputLines: string[];
  configuration: Record<string, unknown>;
  /** Answers the next quick pick / open dialog / input box: a label, a path, or a string. */
  answers: { quickPick?: string; openDialog?: string; inputBox?: string };
}

export const recorded: Recorded = { commands: new Map(), serializers: [], messages: [], outputLines: [], configuration: {}, answers: {} };

export function resetRecorded(): void {
  recorded.commands.clear();
  recorded.serializers.length = 0;
  recorded.messages.length = 0;
  recorded.outputLines.length = 0;
  recorded.configuration = {};
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

export const window = {
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
    return Promise.resolve(undefined);
  },
  showErrorMessage(text: string) {
    recorded.messages.push({ level: 'error', text });
    return Promise.resolve(undefined);
  },
  showQuickPick<T extends { label: string }>(items: T[]) {
    return Promise.resolve(items.find((i) => i.label === recorded.answers.quickPick));
  },
  showOpenDialog() {
    const p = recorded.answers.openDialog;
    return Promise.resolve(p ? [Uri.file(p)] : undefined);
  },
  showInputBox() {
    return Promise.resolve(recorded.answers.inputBox);
  },
  withProgress<R>(_options: unknown, task: (progress: { report(v: unknown): void }, token: { onCancellationRequested: (l: () => void) => { dispose(): void }; isCancellationRequested: boolean }) => Promise<R>): Promise<R> {
    return task({ report: () => undefined }, { isCancellationRequested: false, onCancellationRequested: () => disposable() });
  },
};

export const lm = {
  selectChatModels: () => Promise.resolve([]),
};

export const workspace = {
  workspaceFolders: undefined as { uri: Uri }[] | undefined,
  findFiles: () => Promise.resolve([] as Uri[]),
  asRelativePath: (p: string | Uri) => (typeof p === 'string' ? p : p.fsPath),
  getConfiguration(section?: string) {
    return {
      get<T>(key: string, fallback?: T): T | undefined {
        const full = section ? `${section}.${key}` : key;
        return (full in recorded.configuration ? recorded.configuration[full] : fallback) as T | undefined;
      },
      update(key: string, value: unknown) {
        recorded.configuration[section ? `${section}.${key}` : key] = value;
        return Promise.resolve();
      },
    };
  },
};
