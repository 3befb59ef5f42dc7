/**
 * A status-bar item that shows the extension is there and which model it uses, with the engine's state; a click
 * opens the panel. It follows the `personaLens.modelPath` setting and the engine's status events.
 */
import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { modelLabel } from './modelSelection';

export function createStatusBar(context: vscode.ExtensionContext, engine: EngineHost): vscode.Disposable {
  const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
  item.command = 'personaLens.openPanel';
  item.name = 'Persona Lens';
  let engineState = 'engine stopped';
  const render = () => {
    const model = modelLabel(context.extensionPath);
    item.text = `$(telescope) ${model}`;
    item.tooltip = `Persona Lens · model ${model} · ${engineState} — click to open the panel`;
  };
  render();
  item.show();
  const disposables = [
    item,
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('personaLens.modelPath')) render();
    }),
    engine.onDidChangeStatus((status) => {
      engineState = `engine ${status}`;
      render();
    }),
  ];
  return { dispose: () => disposables.forEach((d) => d.dispose()) };
}
