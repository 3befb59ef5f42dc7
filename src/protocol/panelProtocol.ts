/**
 * The one message protocol between the Persona Lens panel (webview/) and the extension host.
 * Both sides import this module and validate every message on arrival with the parse functions.
 */
import type { EngineInfo } from './engineProtocol';
import type { SelfCheckResult } from '../core/selfCheck';
import type { VectorSummary } from '../core/vectors/vectorSummary';

export type { VectorSummary };

export type EngineStatus = 'stopped' | 'ready' | 'busy' | 'crashed';

export type HostToPanel =
  | { type: 'engineStatus'; status: EngineStatus; info?: EngineInfo; message?: string }
  | { type: 'selfCheckProgress'; done: number; total: number }
  | { type: 'selfCheckResult'; result: SelfCheckResult }
  | { type: 'error'; message: string }
  | { type: 'vectors'; vectors: VectorSummary[] };

export type PanelToHost =
  | { type: 'ready' }
  | { type: 'requestVectors' }
  | { type: 'runSelfCheck'; runs: number }
  | { type: 'cancel' };

/** State the panel persists with setState (survives hiding and reloads). */
export interface PanelState {
  lastSelfCheck?: SelfCheckResult;
  /** Path of the vector shown in the Vectors view. */
  selectedVector?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export function parsePanelMessage(value: unknown): PanelToHost | undefined {
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'ready':
    case 'cancel':
    case 'requestVectors':
      return { type: value.type };
    case 'runSelfCheck':
      return Number.isInteger(value.runs) && (value.runs as number) > 0 && (value.runs as number) <= 1000
        ? { type: 'runSelfCheck', runs: value.runs as number }
        : undefined;
    default:
      return undefined;
  }
}

export function parseHostToPanel(value: unknown): HostToPanel | undefined {
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'engineStatus':
      return ['stopped', 'ready', 'busy', 'crashed'].includes(value.status as string) ? (value as HostToPanel) : undefined;
    case 'selfCheckProgress':
      return isFiniteNumber(value.done) && isFiniteNumber(value.total) ? (value as HostToPanel) : undefined;
    case 'selfCheckResult':
      return isObject(value.result) && isFiniteNumber(value.result.msPerRun) ? (value as HostToPanel) : undefined;
    case 'error':
      return typeof value.message === 'string' ? (value as HostToPanel) : undefined;
    case 'vectors':
      return Array.isArray(value.vectors) && value.vectors.every((v) => isObject(v) && typeof v.path === 'string' && typeof v.trait === 'string' && Array.isArray(v.separation) && Array.isArray(v.vectorNorms) && Array.isArray(v.sweep))
        ? (value as HostToPanel)
        : undefined;
    default:
      return undefined;
  }
}
