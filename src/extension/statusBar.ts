/**
 * A status-bar item that shows the extension is there and which model it uses, with the model's and the engine's
 * state; a click opens the panel. It follows the `personaLens.modelPath` / `engine.weights` / `engine.device`
 * settings and the engine's status and model events.
 */
import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { affectsPanelModel, panelModel } from './modelSelection';

export function createStatusBar(context: vscode.ExtensionContext, engine: EngineHost): vscode.Disposable {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  item.command = 'personaLens.openPanel';
  item.name = 'Persona Lens';
  const render = () => {
    const model = panelModel(context.extensionPath, engine);
    const precision = model.details ? `, ${model.details.precision}` : '';
    item.text = `$(${model.state === 'loading' ? 'sync~spin' : 'telescope'}) ${model.label}`;
    item.tooltip = `Persona Lens · model ${model.label} (${model.state}${precision}) · engine ${engine.status} — click to open the panel`;
  };
  render();
  item.show();
  const disposables = [
    item,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affectsPanelModel(e)) render();
    }),
    engine.onDidChangeStatus(render),
    engine.onDidChangeModel(render),
  ];
  return { dispose: () => disposables.forEach((d) => d.dispose()) };
}
