/**
 * Fine-tuning commands: "Compare Checkpoints…" (finetuning shift, in the engine) and "Export Preventative
 * Steering…" (writes a PyTorch module; no inference, so it runs here).
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import type { EngineHost } from './engineHost';
import { currentModelPath, engineModelOptions } from './modelSelection';
import { judgeSpecFor } from './judges';
import { vectorFiles } from './vectorFiles';
import { readPersonaVector } from '../core/vectors/personaVectorFile';
import { MODULE_FILE, vectorFileName, writePreventativeSteering } from '../core/finetuning/preventativeSteering';
import { formatShiftReport } from '../core/finetuning/shiftReport';
import type { ShiftReport } from '../core/finetuning/finetuningShift';

interface VectorChoice extends vscode.QuickPickItem {
  file: string;
  recommendedLayer?: number;
}

function vectorChoices(context: vscode.ExtensionContext): VectorChoice[] {
  const choices: VectorChoice[] = [];
  for (const file of vectorFiles(context)) {
    try {
      const { metadata } = readPersonaVector(file);
      const rec = metadata.recommendedLayer !== undefined ? `layer ${metadata.recommendedLayer}, α ${metadata.recommendedCoefficient}` : 'no recommended layer';
      choices.push({ label: String(metadata.trait ?? path.basename(file)), description: `${metadata.model ?? ''} · ${rec}`, detail: vscode.workspace.asRelativePath(file), file, recommendedLayer: metadata.recommendedLayer as number | undefined });
    } catch {
      // Not a Persona Lens vector file (e.g. a plain steering tensor): it has no trait or layer to offer here.
    }
  }
  return choices;
}

const pickFolder = async (title: string, defaultPath?: string): Promise<string | undefined> =>
  (await vscode.window.showOpenDialog({ title, canSelectFolders: true, canSelectFiles: false, canSelectMany: false, defaultUri: defaultPath ? vscode.Uri.file(defaultPath) : undefined }))?.[0]?.fsPath;

export async function compareCheckpointsCommand(context: vscode.ExtensionContext, engine: EngineHost, log: vscode.OutputChannel, onReport?: (report: ShiftReport) => void): Promise<void> {
  const current = currentModelPath(context.extensionPath);
  const basePath = await pickFolder('Persona Lens: base checkpoint (before fine-tuning)', current);
  if (!basePath) return;
  const kind = await vscode.window.showQuickPick(
    [
      { label: 'Full checkpoint folder…', description: 'config.json + *.safetensors', adapter: false },
      { label: 'LoRA adapter folder…', description: 'adapter_config.json + adapter_model.safetensors (PEFT), merged onto the base', adapter: true },
    ],
    { title: 'Persona Lens: the fine-tuned model is a…' },
  );
  if (!kind) return;
  const tunedPath = await pickFolder(kind.adapter ? 'Persona Lens: LoRA adapter folder' : 'Persona Lens: fine-tuned checkpoint', path.dirname(basePath));
  if (!tunedPath) return;
  const choices = vectorChoices(context);
  if (!choices.length) {
    void vscode.window.showErrorMessage('No persona vectors yet: run "Persona Lens: Extract Persona Vector…" on the base model first.');
    return;
  }
  const picked = await vscode.window.showQuickPick(choices, { title: 'Persona Lens: traits to measure', canPickMany: true, matchOnDetail: true });
  if (!picked?.length) return;
  let judge;
  try {
    judge = await judgeSpecFor(context, basePath);
  } catch (err) {
    void vscode.window.showErrorMessage((err as Error).message);
    return;
  }
  const traitFolders = (vscode.workspace.workspaceFolders ?? []).map((f) => path.join(f.uri.fsPath, '.persona', 'traits'));
  const report = await engine.withProgress('Persona Lens: comparing checkpoints', 'shift', {
    basePath,
    tuned: kind.adapter ? { adapterPath: tunedPath } : { modelPath: tunedPath },
    vectorPaths: picked.map((p) => p.file),
    traitFolders,
    judge,
    maxTokens: vscode.workspace.getConfiguration('personaLens.extraction').get<number>('maxTokens', 128),
    ...engineModelOptions(context),
  });
  if (!report) return;
  for (const line of formatShiftReport(report)) log.appendLine(line);
  onReport?.(report);
  const summary = report.traits.map((t) => `${t.trait} ${t.shift >= 0 ? '+' : ''}${t.shift.toFixed(2)} (random ±${t.randomShift.toFixed(2)})`).join(', ');
  const choice = await vscode.window.showInformationMessage(`Persona Lens finetuning shift: ${summary}.`, 'Show Details');
  if (choice) log.show();
}

export async function exportPreventativeSteeringCommand(context: vscode.ExtensionContext): Promise<void> {
  const choices = vectorChoices(context).filter((c) => c.recommendedLayer !== undefined);
  if (!choices.length) {
    void vscode.window.showErrorMessage('No persona vector with a recommended layer: run "Persona Lens: Extract Persona Vector…" first.');
    return;
  }
  const picked = await vscode.window.showQuickPick(choices, { title: 'Persona Lens: vector to steer with while training', matchOnDetail: true });
  if (!picked) return;
  let pv;
  try {
    pv = readPersonaVector(picked.file);
  } catch (err) {
    void vscode.window.showErrorMessage(`Persona Lens: cannot read ${picked.file}: ${(err as Error).message}`);
    return;
  }
  const layer = pv.metadata.recommendedLayer as number;
  const mode = await vscode.window.showQuickPick(
    [
      { label: 'add', description: 'preventative steering: add α·v while training (Chen et al. 2025)' },
      { label: 'ablate', description: 'CAFT: project the direction out while training' },
    ],
    { title: 'Persona Lens: intervention during training' },
  );
  if (!mode) return;
  let coefficient = (pv.metadata.recommendedCoefficient as number | undefined) ?? 1;
  if (mode.label === 'add') {
    const typed = await vscode.window.showInputBox({
      title: `Persona Lens: coefficient α at layer ${layer}`,
      value: String(coefficient),
      validateInput: (v) => (Number.isFinite(Number(v)) && v.trim() !== '' ? undefined : 'a number'),
    });
    if (typed === undefined) return;
    coefficient = Number(typed);
  }
  const outDir = await pickFolder('Persona Lens: folder for persona_steering.py (next to your training script)', vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
  if (!outDir) return;
  const trait = String(pv.metadata.trait ?? 'persona');
  const existing = [MODULE_FILE, vectorFileName(trait)].filter((f) => existsSync(path.join(outDir, f)));
  if (existing.length) {
    const ok = await vscode.window.showWarningMessage(`${existing.join(' and ')} already exist in ${outDir}. Replace them?`, { modal: true }, 'Replace');
    if (ok !== 'Replace') return;
  }
  try {
    const written = writePreventativeSteering(
      outDir,
      { trait, vector: pv.vectors.response_avg!, rows: pv.rows, d: pv.d, layers: [layer], coefficient, mode: mode.label as 'add' | 'ablate', source: `extracted from ${pv.metadata.model ?? 'unknown model'}` },
      existing.length > 0,
    );
    const open = await vscode.window.showInformationMessage(`Wrote ${path.basename(written.modulePath)} and ${path.basename(written.vectorPath)}: wrap trainer.train() in PreventativeSteering(model).`, 'Open Module');
    if (open) await vscode.window.showTextDocument(vscode.Uri.file(written.modulePath));
  } catch (err) {
    void vscode.window.showErrorMessage(`Persona Lens: export failed: ${(err as Error).message}`);
  }
}
