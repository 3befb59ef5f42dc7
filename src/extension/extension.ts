/**
 * Activation is deliberately tiny: it registers commands and creates the lazy engine handle.
 * No model work and no onnxruntime happen here (the engine process is forked on first use).
 */
import * as vscode from 'vscode';
import { EngineHost } from './engineHost';
import { registerCommands } from './commands';
import { createStatusBar } from './statusBar';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Persona Lens');
  const engine = new EngineHost(context.extensionPath, log);
  context.subscriptions.push(log, engine, createStatusBar(context, engine));
  registerCommands(context, { engine, log });
}

export function deactivate(): void {
  // Disposables registered on the context stop the engine.
}
