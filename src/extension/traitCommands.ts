/** Trait commands: extract a persona vector, and write a new trait from a description. */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import type { EngineHost } from './engineHost';
import { currentModelPath, engineModelOptions, weightsSetting } from './modelSelection';
import { vectorFiles } from './vectorFiles';
import { judgeSpecFor, JUDGE_KEY_SECRET } from './judges';
import { BUILTIN_TRAITS } from '../core/traits/builtinTraits';
import { readTraitFile, traitHash } from '../core/traits/traitFile';
import { readSafetensorsHeader } from '../core/model/safetensors';
import { vectorModelFit } from '../core/vectors/traitVector';
import type { ModelSummary } from '../core/model/modelSummary';
import type { TraitDefinition } from '../core/traits/trait';
import { generateTrait } from '../core/traits/traitGenerator';
import { OpenAIProvider, openAiEnvironmentKey } from '../core/providers/openaiProvider';
import { writeUserFile } from './userFiles';

interface TraitChoice extends vscode.QuickPickItem {
  trait: TraitDefinition;
}

interface TraitSource {
  trait: TraitDefinition;
  /** Shown in the pick: "workspace file .persona/traits/evil.json", "from organism", "built-in". */
  source: string;
  /** How the entry names this source when another definition replaces it. */
  owner: string;
}

/** Every trait definition on offer and where it came from, the one that is used first: workspace, model, built-in. */
async function traitSources(modelPath: string): Promise<TraitSource[]> {
  const sources: TraitSource[] = [];
  for (const uri of await vscode.workspace.findFiles('.persona/traits/*.json')) {
    try {
      sources.push({ trait: readTraitFile(uri.fsPath), source: `workspace file ${vscode.workspace.asRelativePath(uri)}`, owner: 'workspace' });
    } catch (err) {
      void vscode.window.showWarningMessage(`Skipped ${vscode.workspace.asRelativePath(uri)}: ${(err as Error).message}`);
    }
  }
  const modelTraits = path.join(modelPath, 'traits');
  if (existsSync(modelTraits)) {
    for (const f of readdirSync(modelTraits).filter((f) => f.endsWith('.json'))) {
      try {
        sources.push({ trait: readTraitFile(path.join(modelTraits, f)), source: `from ${path.basename(modelPath)}`, owner: `${path.basename(modelPath)}'s` });
      } catch (err) {
        void vscode.window.showWarningMessage(`Skipped ${path.join(modelTraits, f)}: ${(err as Error).message}`);
      }
    }
  }
  for (const trait of BUILTIN_TRAITS) sources.push({ trait, source: 'built-in', owner: 'built-in' });
  return sources;
}

/** The trait, model and trait hash each vector file records (its header only; files that are not vectors are left out). */
function vectorRecords(context: vscode.ExtensionContext): { trait?: string; model?: string; modelFingerprint?: string; traitHash?: string }[] {
  return vectorFiles(context).flatMap((file) => {
    try {
      return [readSafetensorsHeader(file).metadata];
    } catch {
      return [];
    }
  });
}

/** Whether the workspace or the extension storage holds a vector of this trait for the model, as the pick says it. */
function vectorNote(trait: TraitDefinition, records: ReturnType<typeof vectorRecords>, model: ModelSummary | undefined): string {
  const ofTrait = records.filter((r) => r.trait === trait.name);
  if (!model) return ofTrait.length ? 'has a vector; the model could not be read to tell whether it fits' : 'no vector yet';
  const fitting = ofTrait.map((r) => ({ r, fit: vectorModelFit(r.modelFingerprint, model.fingerprint) })).filter((x) => x.fit);
  const same = fitting.filter((x) => x.fit === 'same');
  if (same.length) return same.some((x) => x.r.traitHash === traitHash(trait)) ? 'vector for this model' : 'vector for this model, from another version of this trait';
  if (fitting.length) return `vector for this model at other weights precision (now ${model.precision})`;
  if (ofTrait.length) return `no vector for this model (one for ${[...new Set(ofTrait.map((r) => r.model ?? 'another model'))].join(', ')})`;
  return 'no vector yet';
}

/**
 * The trait pick: one entry per trait name, the definition that is used (workspace file over the model's own over
 * built-in) with its source, the others it replaces, and whether a vector of it exists for the current model.
 */
async function traitChoices(context: vscode.ExtensionContext, engine: EngineHost, modelPath: string): Promise<TraitChoice[]> {
  // The engine opens the model (its fingerprint at the weights setting) while the trait files are read.
  const model = engine.request('inspectModel', { modelPath, weights: weightsSetting() }).catch(() => undefined);
  const sources = await traitSources(modelPath);
  const summary = await model;
  const records = vectorRecords(context);
  const choices: TraitChoice[] = [];
  for (const { trait, source } of sources) {
    if (choices.some((c) => c.trait.name === trait.name)) continue;
    const others = sources.filter((s) => s.trait.name === trait.name && s.source !== source).map((s) => s.owner);
    choices.push({
      label: trait.name,
      description: `${source} · ${vectorNote(trait, records, summary)}`,
      detail: `${trait.description}${others.length ? ` (used instead of the ${others.join(' and the ')} definition)` : ''}`,
      trait,
    });
  }
  return choices;
}

function outputFolder(context: vscode.ExtensionContext, sub: string): string {
  const ws = vscode.workspace.workspaceFolders?.[0];
  const folder = ws ? path.join(ws.uri.fsPath, '.persona', sub) : path.join(context.globalStorageUri.fsPath, sub);
  mkdirSync(folder, { recursive: true });
  return folder;
}

/** A path that does not exist yet: existing files are never replaced. */
export function freshPath(folder: string, base: string, ext: string): string {
  let candidate = path.join(folder, `${base}${ext}`);
  for (let i = 2; existsSync(candidate); i++) candidate = path.join(folder, `${base}-${i}${ext}`);
  return candidate;
}

export async function extractVectorCommand(context: vscode.ExtensionContext, engine: EngineHost): Promise<void> {
  const modelPath = currentModelPath(context.extensionPath);
  if (!modelPath) {
    void vscode.window.showErrorMessage('No model: run "Persona Lens: Select Model…" first.');
    return;
  }
  const choice = await vscode.window.showQuickPick(traitChoices(context, engine, modelPath), { title: 'Persona Lens: trait to extract', matchOnDetail: true, matchOnDescription: true });
  if (!choice) return;
  let judge;
  try {
    judge = await judgeSpecFor(context, modelPath);
  } catch (err) {
    void vscode.window.showErrorMessage((err as Error).message);
    return;
  }
  if (judge.kind === 'self') void vscode.window.showWarningMessage('Persona Lens: no judge is configured, so the model judges its own answers. This is a weak judge: set personaLens.judge.* for reliable vectors.');
  const config = vscode.workspace.getConfiguration('personaLens.extraction');
  // A file-name-safe label: `ollama:qwen2.5:7b` and `model.Q4_K_M.gguf` become `ollama-qwen2.5-7b`, `model.Q4_K_M`.
  const modelLabel = path.basename(modelPath).replace(/\.gguf$/i, '').replace(/[^\w.-]+/g, '-');
  const outPath = freshPath(outputFolder(context, 'vectors'), `${choice.trait.name}.${modelLabel}`, '.safetensors');
  const summary = await engine.withProgress(`Persona Lens: extracting "${choice.trait.name}"`, 'extract', {
    modelPath,
    ...engineModelOptions(context),
    trait: choice.trait,
    judge,
    modelLabel,
    outPath,
    options: {
      samplesPerQuestion: config.get<number>('samplesPerQuestion', 1),
      maxTokens: config.get<number>('maxTokens', 128),
      traitThreshold: config.get<number>('traitThreshold', 50),
      coherenceThreshold: config.get<number>('coherenceThreshold', 50),
      sweep: {
        evaluation: { samplesPerQuestion: config.get<number>('steeringSamplesPerQuestion', 3), temperature: config.get<number>('steeringTemperature', 1) },
        strategy: config.get<'budgeted' | 'exhaustive'>('layerSearch', 'budgeted'),
        budgetTokens: config.get<number>('searchBudgetTokens', 0) || undefined,
      },
    },
  });
  if (!summary) return;
  const rec = summary.recommended ? `recommended layer ${summary.recommended.layer}, α = ${summary.recommended.coefficient} (trait ${summary.recommended.meanTrait.toFixed(0)}, coherence ${summary.recommended.meanCoherence.toFixed(0)})` : 'no coherent steering layer found';
  const open = await vscode.window.showInformationMessage(
    `"${choice.trait.name}" vector: kept ${summary.keptPairs}/${summary.totalPairs} pairs, ${rec}${summary.weakJudge ? ' — weak self-judge' : ''}. Saved ${vscode.workspace.asRelativePath(outPath)}.`,
    'Open Panel',
  );
  if (open) await vscode.commands.executeCommand('personaLens.openPanel');
}

export async function newTraitCommand(context: vscode.ExtensionContext): Promise<void> {
  const name = await vscode.window.showInputBox({ title: 'New trait: name', placeHolder: 'overconfident', validateInput: (v) => (/^[a-z][a-z0-9_-]{0,63}$/.test(v.trim()) ? undefined : 'lower case letters, digits, - or _') });
  if (!name) return;
  const description = await vscode.window.showInputBox({ title: `New trait "${name}": describe it`, placeHolder: 'States guesses as certain facts and never admits doubt.' });
  if (!description) return;
  const config = vscode.workspace.getConfiguration('personaLens.judge');
  const baseUrl = config.get<string>('baseUrl', '').trim();
  const model = config.get<string>('model', '').trim();
  if (!baseUrl || !model) {
    void vscode.window.showErrorMessage('Writing a trait needs a generator LLM: set personaLens.judge.baseUrl and personaLens.judge.model (an OpenAI-compatible endpoint such as Ollama or LM Studio).');
    return;
  }
  const apiKey = (await context.secrets.get(JUDGE_KEY_SECRET)) ?? openAiEnvironmentKey(baseUrl);
  const provider = new OpenAIProvider({ baseUrl, model, apiKey, timeoutMs: 600000, role: 'generator' });
  try {
    const trait = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Persona Lens: writing trait "${name}"`, cancellable: true }, (_p, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      return generateTrait(provider, { name: name.trim(), description: description.trim() }, controller.signal);
    });
    const file = freshPath(outputFolder(context, 'traits'), trait.name, '.json');
    if (!writeUserFile(vscode.Uri.file(file), JSON.stringify(trait, null, 2) + '\n')) return;
    await vscode.window.showTextDocument(vscode.Uri.file(file));
    void vscode.window.showInformationMessage('Review the trait (the schema checks it as you edit), then run "Persona Lens: Extract Persona Vector…".');
  } catch (err) {
    void vscode.window.showErrorMessage(`Persona Lens: could not write the trait: ${(err as Error).message}`);
  }
}

export async function setJudgeKeyCommand(context: vscode.ExtensionContext): Promise<void> {
  const key = await vscode.window.showInputBox({ title: 'API key for the judge endpoint (stored in VS Code SecretStorage)', password: true, ignoreFocusOut: true });
  if (key === undefined) return;
  if (key) await context.secrets.store(JUDGE_KEY_SECRET, key);
  else await context.secrets.delete(JUDGE_KEY_SECRET);
  void vscode.window.showInformationMessage(key ? 'Judge API key saved.' : 'Judge API key removed.');
}
