/**
 * Which model Persona Lens uses: the `personaLens.modelPath` setting (a checkpoint folder, a .gguf file or
 * ollama:NAME:TAG), or the bundled organism when it is empty. "Select Model…" picks a local folder or GGUF file, a
 * model from the local Ollama store (validated by the engine before it is saved), or downloads a hub id into the
 * extension's global storage.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import type { EngineHost } from './engineHost';
import { describeModel } from '../core/model/modelSummary';
import type { PanelModel } from '../protocol/panelProtocol';
import { listOllamaModels, ollamaModelsRoot } from '../core/gguf/ollamaStore';
import { isWeightPrecisionChoice, type WeightPrecisionChoice } from '../core/model/weightPrecision';
import { isDeviceChoice, type DeviceChoice } from '../core/onnx/deviceChoice';

export const MODEL_PATH_SETTING = 'modelPath';

export function bundledModelPath(extensionPath: string): string {
  return path.join(extensionPath, 'models', 'organism');
}

/** The model folder to use, or undefined with a message when none is usable. */
export function currentModelPath(extensionPath: string): string | undefined {
  const configured = vscode.workspace.getConfiguration('personaLens').get<string>(MODEL_PATH_SETTING, '').trim();
  if (configured) return configured;
  const bundled = bundledModelPath(extensionPath);
  return existsSync(path.join(bundled, 'config.json')) ? bundled : undefined;
}

/** A short name for the model in use: the bundled organism, `ollama:NAME:TAG`, or the folder / file name. */
export function modelLabel(extensionPath: string): string {
  const configured = vscode.workspace.getConfiguration('personaLens').get<string>(MODEL_PATH_SETTING, '').trim();
  if (!configured) return currentModelPath(extensionPath) ? 'organism (bundled)' : 'no model';
  return configured.startsWith('ollama:') ? configured : path.basename(configured);
}

export function cacheRoot(context: vscode.ExtensionContext): string {
  return path.join(context.globalStorageUri.fsPath, 'cache');
}

/** `personaLens.engine.weights`: how the engine stores the model's weights (auto, f32, int8, int4). */
export function weightsSetting(): WeightPrecisionChoice {
  const value = vscode.workspace.getConfiguration('personaLens').get<string>('engine.weights', 'auto');
  return isWeightPrecisionChoice(value) ? value : 'auto';
}

/** `personaLens.engine.device`: where the engine runs the model (auto, cpu, webgpu, cuda, dml, coreml). */
export function deviceSetting(): DeviceChoice {
  const value = vscode.workspace.getConfiguration('personaLens').get<string>('engine.device', 'auto');
  return isDeviceChoice(value) ? value : 'auto';
}

/** The model options every engine request carries besides the model path: cache folder, weight precision, device. */
export function engineModelOptions(context: vscode.ExtensionContext): { cacheRoot: string; weights: WeightPrecisionChoice; device: DeviceChoice } {
  return { cacheRoot: cacheRoot(context), weights: weightsSetting(), device: deviceSetting() };
}

/** Whether a settings change changes `panelModel` (the model, its weights or its device): the views then redraw it. */
export function affectsPanelModel(e: vscode.ConfigurationChangeEvent): boolean {
  return ['personaLens.modelPath', 'personaLens.engine.weights', 'personaLens.engine.device'].some((setting) => e.affectsConfiguration(setting));
}

/**
 * The selected model as the engine card and the status bar show it: loaded, loading or failed when the engine holds
 * it (at the weights setting), else not loaded; with what the engine said about it when it opened it this session.
 */
export function panelModel(extensionPath: string, engine: Pick<EngineHost, 'model' | 'summaryOf'>): PanelModel {
  const label = modelLabel(extensionPath);
  const modelPath = currentModelPath(extensionPath);
  if (!modelPath) return { label, state: 'not loaded' };
  const weights = weightsSetting();
  const held = engine.model;
  const holds = held !== undefined && held.modelPath === modelPath && held.weights === weights && (held.device ?? 'auto') === deviceSetting() && !held.adapterPath ? held : undefined;
  const summary = holds?.state === 'loaded' ? holds.summary : engine.summaryOf(modelPath, weights);
  return {
    label,
    state: holds?.state === 'loaded' || holds?.state === 'loading' || holds?.state === 'failed' ? holds.state : 'not loaded',
    ...(summary
      ? { details: { architecture: summary.architecture, format: summary.format, precision: summary.precision, parameters: summary.parameters, bytes: summary.requiredBytes, layers: summary.layers, hiddenSize: summary.hiddenSize } }
      : {}),
    ...(holds?.state === 'loaded' && summary?.device ? { device: { name: summary.device.device, reason: summary.device.reason } } : {}),
    ...(holds?.state === 'failed' ? { message: holds.message } : {}),
  };
}

export async function selectModel(context: vscode.ExtensionContext, engine: EngineHost): Promise<void> {
  type Choice = vscode.QuickPickItem & { action: 'folder' | 'gguf' | 'hub' | 'bundled' | 'ollama'; modelPath?: string };
  const current = vscode.workspace.getConfiguration('personaLens').get<string>(MODEL_PATH_SETTING, '').trim();
  const mark = (modelPath: string) => (modelPath === current ? ' (current)' : '');
  const items: Choice[] = [
    { label: 'Choose a local checkpoint folder…', description: 'config.json + *.safetensors + tokenizer.json', action: 'folder' },
    { label: 'Choose a GGUF file…', description: 'llama.cpp / LM Studio model file', action: 'gguf' },
    { label: 'Download from the Hugging Face hub…', description: 'needs network; saved in the extension storage', action: 'hub' },
  ];
  if (existsSync(path.join(bundledModelPath(context.extensionPath), 'config.json'))) items.push({ label: 'Use the bundled model organism', description: `offline default${mark('')}`, action: 'bundled' });
  // Reading the store is a few directory listings; nothing is written there.
  const ollama = listOllamaModels(ollamaModelsRoot());
  if (ollama.length) items.push({ label: 'Ollama models', kind: vscode.QuickPickItemKind.Separator, action: 'ollama' });
  for (const model of ollama) items.push({ label: `ollama:${model.name}`, description: `${(model.size / 1024 ** 3).toFixed(1)} GiB${mark(`ollama:${model.name}`)}`, action: 'ollama', modelPath: `ollama:${model.name}` });
  if (current && !current.startsWith('ollama:')) items[0].detail = `current: ${current}`;
  const choice = await vscode.window.showQuickPick(items, { title: 'Persona Lens: Select Model' });
  if (!choice) return;

  let modelPath: string | undefined;
  if (choice.action === 'bundled') modelPath = '';
  else if (choice.action === 'ollama') modelPath = choice.modelPath;
  else if (choice.action === 'folder' || choice.action === 'gguf') {
    const gguf = choice.action === 'gguf';
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: !gguf, canSelectFiles: gguf, canSelectMany: false, openLabel: 'Use this model', filters: gguf ? { 'GGUF model': ['gguf'] } : undefined });
    modelPath = picked?.[0]?.fsPath;
  } else {
    const repoId = await vscode.window.showInputBox({ title: 'Hugging Face model id', placeHolder: 'Qwen/Qwen2.5-0.5B-Instruct', validateInput: (v) => (/^[\w.-]+\/[\w.-]+$/.test(v.trim()) ? undefined : 'owner/name') });
    if (!repoId) return;
    const result = await engine.withProgress(`Persona Lens: downloading ${repoId}`, 'downloadModel', { repoId: repoId.trim(), destRoot: path.join(context.globalStorageUri.fsPath, 'hub') });
    modelPath = result?.modelPath;
  }
  if (modelPath === undefined) return;

  const target = modelPath || bundledModelPath(context.extensionPath);
  try {
    const summary = await engine.request('inspectModel', { modelPath: target, weights: weightsSetting() });
    await vscode.workspace.getConfiguration('personaLens').update(MODEL_PATH_SETTING, modelPath, vscode.ConfigurationTarget.Global);
    void vscode.window.showInformationMessage(`Persona Lens model: ${describeModel(summary)}`);
  } catch (err) {
    engine.reportError('Persona Lens: this cannot be used as a model', err);
  }
}
