/**
 * The steering lab's host side: turns the panel's settings into an engine `steeringLab` request (the sweep runs in
 * the engine process, never here), forwards every streamed cell to the panel, cancels, and saves / opens results
 * files (a save never replaces a file without asking; an opened file is validated before it is shown).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { EngineError } from '../../engine/client';
import type { JudgeSpec } from '../../protocol/engineProtocol';
import {
  coefficientGrid,
  parseSteeringLabResults,
  STEERING_RESULTS_FORMAT,
  type SteeringLabResults,
  type SteeringLabSettings,
} from '../../core/extraction/steeringLabResults';
import { freshPath } from '../traitCommands';
import type { EngineRequester, PostToPanel, SelectedModel } from './panelDeps';
import { writeUserFile } from '../userFiles';

export interface SteeringLabDeps {
  engine: EngineRequester;
  post: PostToPanel;
  model: () => SelectedModel | undefined;
  /** The judge for this model (the organism's lexicon judge, a configured LLM judge, …). */
  judge: (modelPath: string) => Promise<JudgeSpec>;
  /** Folders with trait definitions, searched before the model's traits/ and the built-in library. */
  traitFolders: () => string[];
  /** Where the save dialog starts. */
  resultsFolder: () => string;
  log: (line: string) => void;
}

/** Largest results file "Open" reads. */
export const MAX_RESULTS_BYTES = 64 * 1024 * 1024;

/** How the judge is named before the engine reports its exact id. */
export function judgeLabel(spec: JudgeSpec): string {
  switch (spec.kind) {
    case 'lexicon':
      return 'lexicon';
    case 'openai':
      return `openai:${spec.model}`;
    case 'host':
      return spec.id;
    case 'self':
      return 'self (weak)';
  }
}

export class SteeringLab implements vscode.Disposable {
  private running: AbortController | undefined;

  constructor(private readonly deps: SteeringLabDeps) {}

  get isRunning(): boolean {
    return this.running !== undefined;
  }

  /** Runs a sweep in the engine; resolves when it finished, failed or was cancelled (the panel was told which). */
  async run(settings: SteeringLabSettings): Promise<void> {
    // A new run replaces one still going; the old one's late messages are dropped below.
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    const current = () => this.running === controller;
    const { post } = this.deps;
    const model = this.deps.model();
    if (!model) {
      this.running = undefined;
      post({ type: 'steerFinished', status: 'failed', message: 'No model: run "Persona Lens: Select Model…" first.' });
      return;
    }
    let judge: JudgeSpec;
    try {
      judge = await this.deps.judge(model.modelPath);
    } catch (err) {
      // A run superseded meanwhile must not report over the new one.
      if (!current()) return;
      this.running = undefined;
      post({ type: 'steerFinished', status: 'failed', message: (err as Error).message });
      return;
    }
    const coefficients = coefficientGrid(settings.coefficientMin, settings.coefficientMax, settings.steps);
    const results: SteeringLabResults = { format: STEERING_RESULTS_FORMAT, created: new Date().toISOString(), model: model.label, judge: judgeLabel(judge), settings, cells: [], complete: false };
    post({ type: 'steerStarted', results, coefficients });
    let cells = 0;
    try {
      const result = await this.deps.engine.request(
        'steeringLab',
        {
          modelPath: model.modelPath,
          cacheRoot: model.cacheRoot,
          weights: model.weights,
          judge,
          prompt: settings.prompt,
          system: settings.system,
          vectorPaths: settings.vectorPaths,
          traitFolders: this.deps.traitFolders(),
          layer: settings.layer,
          coefficients,
          samplesPerPoint: settings.samplesPerPoint,
          temperature: settings.temperature,
          seed: settings.seed,
          maxTokens: settings.maxTokens,
          randomControl: settings.randomControl,
        },
        {
          signal: controller.signal,
          onProgress: (p) => current() && post({ type: 'steerProgress', done: p.done, total: p.total }),
          onPartial: (cell) => {
            if (!current()) return;
            cells++;
            post({ type: 'steerCell', cell });
          },
        },
      );
      if (current()) post({ type: 'steerFinished', status: 'complete', judge: result.weakJudge ? `${result.judge} (weak)` : result.judge });
    } catch (err) {
      if (!current()) return;
      // After a cancel, the engine either stops between runs ("cancelled") or is killed after the grace period.
      const cancelled = err instanceof EngineError && controller.signal.aborted && ['cancelled', 'killed'].includes(err.code);
      const message = cancelled ? `Cancelled after ${cells} cell(s).` : (err as Error).message;
      if (!cancelled) this.deps.log(`[steering lab] ${message}`);
      post({ type: 'steerFinished', status: cancelled ? 'cancelled' : 'failed', message });
    } finally {
      if (current()) this.running = undefined;
    }
  }

  cancel(): void {
    this.running?.abort();
  }

  async save(results: SteeringLabResults): Promise<void> {
    const trait = results.cells[0]?.trait ?? 'lab';
    const defaultPath = freshPath(this.deps.resultsFolder(), `steering-${trait}-${results.created.slice(0, 10)}`, '.json');
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(defaultPath), filters: { 'Steering results': ['json'] }, title: 'Save steering results' });
    if (!target) return;
    const name = path.basename(target.fsPath);
    // The OS dialog usually asks too; this makes sure no file is ever replaced without an explicit yes.
    if (existsSync(target.fsPath)) {
      const choice = await vscode.window.showWarningMessage(`${name} already exists. Replace it with these steering results?`, { modal: true }, 'Replace');
      if (choice !== 'Replace') {
        this.deps.post({ type: 'steerStatus', message: `Not saved: ${name} already exists.`, error: false });
        return;
      }
    }
    if (writeUserFile(target, JSON.stringify(results, null, 2) + '\n')) this.deps.post({ type: 'steerStatus', message: `Saved ${target.fsPath}`, error: false });
    else this.deps.post({ type: 'steerStatus', message: `Not saved: ${name} could not be written.`, error: true });
  }

  async open(): Promise<void> {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, canSelectFiles: true, canSelectFolders: false, filters: { 'Steering results': ['json'] }, title: 'Open steering results' });
    const file = picked?.[0]?.fsPath;
    if (!file) return;
    try {
      if (statSync(file).size > MAX_RESULTS_BYTES) throw new Error(`the file is larger than ${MAX_RESULTS_BYTES / 1024 / 1024} MB`);
      let json: unknown;
      try {
        json = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new Error(`not valid JSON (${(err as Error).message})`);
      }
      this.deps.post({ type: 'steerResults', results: parseSteeringLabResults(json), source: file });
      this.deps.post({ type: 'steerStatus', message: `Opened ${file}`, error: false });
    } catch (err) {
      this.fail(`Could not open ${path.basename(file)} as steering results: ${(err as Error).message}`);
    }
  }

  private fail(message: string): void {
    this.deps.log(`[steering lab] ${message}`);
    this.deps.post({ type: 'steerStatus', message, error: true });
    void vscode.window.showErrorMessage(`Persona Lens: ${message}`);
  }

  dispose(): void {
    this.running?.abort();
    this.running = undefined;
  }
}
