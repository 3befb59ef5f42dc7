/**
 * The fine-tuning sample shapes Persona Lens reads, turned into (prompt messages, assistant response) pairs:
 * OpenAI `messages`, ShareGPT `conversations` (from/value), Alpaca (instruction/input/output),
 * `prompt`/`completion` and `prompt`/`response`.
 */
import type { ChatMessage } from '../model/tokenizer';

export type SampleFormat = 'messages' | 'sharegpt' | 'alpaca' | 'prompt-completion' | 'prompt-response';

export interface ScoredTurn {
  /** Conversation before the assistant turn (system/user/assistant). */
  prompt: ChatMessage[];
  response: string;
  /** Index of the assistant turn among the sample's assistant turns. */
  turn: number;
}

export type TurnSelection = 'last' | 'all';

const SHAREGPT_ROLES: Record<string, ChatMessage['role']> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', model: 'assistant', chatgpt: 'assistant', bing: 'assistant', bard: 'assistant', system: 'system' };

/** Recognises the sample's shape and returns its assistant turns, or throws an Error saying what is wrong. */
export function turnsOf(sample: unknown, selection: TurnSelection): { format: SampleFormat; turns: ScoredTurn[] } {
  if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) throw new Error('a sample must be a JSON object');
  const s = sample as Record<string, unknown>;
  if (Array.isArray(s.messages)) return { format: 'messages', turns: fromConversation(s.messages.map((m, i) => asMessage(m, i, 'messages', 'role', 'content', (r) => (['system', 'user', 'assistant'].includes(r) ? (r as ChatMessage['role']) : undefined))), selection) };
  if (Array.isArray(s.conversations)) return { format: 'sharegpt', turns: fromConversation(s.conversations.map((m, i) => asMessage(m, i, 'conversations', 'from', 'value', (r) => SHAREGPT_ROLES[r.toLowerCase()])), selection) };
  if (typeof s.instruction === 'string' && typeof s.output === 'string') {
    const input = typeof s.input === 'string' && s.input.trim() ? `\n\n${s.input}` : '';
    return { format: 'alpaca', turns: [{ prompt: [{ role: 'user', content: s.instruction + input }], response: s.output, turn: 0 }] };
  }
  if (typeof s.prompt === 'string' && typeof s.completion === 'string') return { format: 'prompt-completion', turns: [{ prompt: [{ role: 'user', content: s.prompt }], response: s.completion, turn: 0 }] };
  if (typeof s.prompt === 'string' && typeof s.response === 'string') return { format: 'prompt-response', turns: [{ prompt: [{ role: 'user', content: s.prompt }], response: s.response, turn: 0 }] };
  throw new Error('unknown sample shape: expected "messages", "conversations", "instruction"/"output", "prompt"/"completion" or "prompt"/"response"');
}

function asMessage(m: unknown, i: number, list: string, roleKey: string, contentKey: string, mapRole: (r: string) => ChatMessage['role'] | undefined): ChatMessage {
  const o = m as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o[roleKey] !== 'string' || typeof o[contentKey] !== 'string') {
    throw new Error(`${list}[${i}] needs string "${roleKey}" and "${contentKey}"`);
  }
  const role = mapRole(o[roleKey] as string);
  if (!role) throw new Error(`${list}[${i}] has unknown ${roleKey} "${o[roleKey]}"`);
  return { role, content: o[contentKey] as string };
}

function fromConversation(messages: ChatMessage[], selection: TurnSelection): ScoredTurn[] {
  const turns: ScoredTurn[] = [];
  messages.forEach((m, i) => {
    if (m.role === 'assistant' && i > 0) turns.push({ prompt: messages.slice(0, i), response: m.content, turn: turns.length });
  });
  if (!turns.length) throw new Error('no assistant turn to score (an assistant message must follow a user or system message)');
  return selection === 'last' ? [turns[turns.length - 1]] : turns;
}
