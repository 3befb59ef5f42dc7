/** Command registrations: each command is thin glue over the engine or a view. */
import * as vscode from 'vscode';
import type { EngineHost } from './engineHost';
import { PersonaLensPanel } from './panel';
import { deviceSetting, selectModel } from './modelSelection';
import { extractVectorCommand, newTraitCommand, setJudgeKeyCommand } from './traitCommands';
import { ScreeningController } from './screening/screeningController';
import { compareCheckpointsCommand, exportPreventativeSteeringCommand } from './finetuningCommands';

export interface Services {
  engine: EngineHost;
  log: vscode.OutputChannel;
}

/** Command ids, also listed in package.json `contributes.commands` (a test keeps them in step). */
export const COMMAND_IDS = {
  openPanel: 'personaLens.openPanel',
  engineSelfCheck: 'personaLens.engineSelfCheck',
  restartEngine: 'personaLens.restartEngine',
  showLog: 'personaLens.showLog',
  selectModel: 'personaLens.selectModel',
  extractVector: 'personaLens.extractVector',
  newTrait: 'personaLens.newTrait',
  setJudgeApiKey: 'personaLens.setJudgeApiKey',
  screenDataset: 'personaLens.screenDataset',
  filterDataset: 'personaLens.filterDataset',
  exportScores: 'personaLens.exportScores',
  compareCheckpoints: 'personaLens.compareCheckpoints',
  exportPreventativeSteering: 'personaLens.exportPreventativeSteering',
} as const;

export function registerCommands(context: vscode.ExtensionContext, services: Services): void {
  const { engine, log } = services;
  const register = (id: string, fn: (...args: unknown[]) => unknown): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, fn));
  };

  register(COMMAND_IDS.engineSelfCheck, async () => {
    const result = await engine.withProgress('Persona Lens: engine self-check', 'selfCheck', { runs: 20, size: 256, device: deviceSetting() });
    if (result) {
      void vscode.window.showInformationMessage(
        `Persona Lens engine OK (onnxruntime ${result.onnxruntime} on ${result.device}): ${result.msPerRun.toFixed(1)} ms/run, ${result.gflops.toFixed(1)} GFLOP/s, max error ${result.maxAbsError.toExponential(1)}.`,
      );
    }
  });
  register(COMMAND_IDS.restartEngine, () => {
    engine.restart();
    void vscode.window.showInformationMessage('Persona Lens engine stopped; it starts again on the next request.');
  });
  register(COMMAND_IDS.showLog, () => log.show());
  register(COMMAND_IDS.selectModel, () => selectModel(context, engine));
  register(COMMAND_IDS.extractVector, () => extractVectorCommand(context, engine));
  register(COMMAND_IDS.newTrait, () => newTraitCommand(context));
  register(COMMAND_IDS.setJudgeApiKey, () => setJudgeKeyCommand(context));
  const screening = new ScreeningController(context, engine);
  context.subscriptions.push(screening);
  const panelServices = { ...services, screening: screening.view };
  register(COMMAND_IDS.openPanel, () => PersonaLensPanel.show(context, panelServices));
  register(COMMAND_IDS.screenDataset, (uri) => screening.screenCommand(uri as vscode.Uri | undefined));
  register(COMMAND_IDS.filterDataset, (uri) => screening.filterCommand(uri as vscode.Uri | undefined));
  register(COMMAND_IDS.exportScores, (uri) => screening.exportCommand(uri as vscode.Uri | undefined));
  register(COMMAND_IDS.compareCheckpoints, () => compareCheckpointsCommand(context, engine, log, (report) => PersonaLensPanel.showShiftReport(context, panelServices, report)));
  register(COMMAND_IDS.exportPreventativeSteering, () => exportPreventativeSteeringCommand(context));

  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(PersonaLensPanel.viewType, {
      deserializeWebviewPanel: async (panel) => PersonaLensPanel.revive(panel, context, panelServices),
    }),
  );
}
