/**
 * Which judge extraction uses, from settings: an OpenAI-compatible endpoint (URL and model are application-scoped
 * settings, the key comes from SecretStorage or the environment, never from settings files), the VS Code Language
 * Model API (e.g. Copilot; runs here in the host, called back by the engine), the lexicon judge shipped in a model
 * folder, or the model judging itself (weak).
 */
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { JudgeSpec } from '../protocol/engineProtocol';
import type { ChatRequest, ChatResponse } from '../core/providers/chatProvider';
import { openAiEnvironmentKey } from '../core/providers/openaiProvider';

export const JUDGE_KEY_SECRET = 'personaLens.judge.apiKey';

export async function judgeSpecFor(context: vscode.ExtensionContext, modelPath: string): Promise<JudgeSpec> {
  const config = vscode.workspace.getConfiguration('personaLens.judge');
  const provider = config.get<string>('provider', 'auto');
  const baseUrl = config.get<string>('baseUrl', '').trim();
  const model = config.get<string>('model', '').trim();
  const openai = async (): Promise<JudgeSpec> => {
    if (!baseUrl || !model) throw new Error('Set personaLens.judge.baseUrl and personaLens.judge.model (user settings) to use an OpenAI-compatible judge.');
    const apiKey = (await context.secrets.get(JUDGE_KEY_SECRET)) ?? openAiEnvironmentKey(baseUrl);
    return { kind: 'openai', baseUrl, model, apiKey, concurrency: config.get<number>('concurrency', 4) };
  };
  switch (provider) {
    case 'openai':
      return openai();
    case 'vscode-lm':
      return { kind: 'host', id: 'vscode-lm' };
    case 'lexicon':
      return { kind: 'lexicon' };
    case 'self':
      return { kind: 'self' };
    default:
      // auto: the model's own lexicon judge (the organism), else a configured endpoint, else VS Code LM, else self.
      if (existsSync(path.join(modelPath, 'judge.json'))) return { kind: 'lexicon' };
      if (baseUrl && model) return openai();
      if ((await vscode.lm?.selectChatModels?.({}))?.length) return { kind: 'host', id: 'vscode-lm' };
      return { kind: 'self' };
  }
}

/** Answers the engine's chatComplete calls with the VS Code Language Model API (no logprobs there). */
export async function vscodeLmComplete(params: { provider: string; request: ChatRequest }): Promise<ChatResponse> {
  const family = vscode.workspace.getConfiguration('personaLens.judge').get<string>('vscodeLmFamily', '');
  const [chatModel] = await vscode.lm.selectChatModels(family ? { family } : {});
  if (!chatModel) throw new Error('No VS Code language model is available (install and sign in to a provider such as GitHub Copilot), or choose another judge in personaLens.judge.provider.');
  // The LM API has no system role: system text goes first in the user turn.
  const messages = params.request.messages.map((m) => (m.role === 'assistant' ? vscode.LanguageModelChatMessage.Assistant(m.content) : vscode.LanguageModelChatMessage.User(m.content)));
  const response = await chatModel.sendRequest(messages, {});
  let text = '';
  for await (const part of response.text) text += part;
  return { text };
}
