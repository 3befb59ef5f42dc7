/**
 * The one message protocol between the Persona Lens panel (webview/) and the extension host.
 * Both sides import this module and validate every message on arrival with the parse functions.
 */
import { isFiniteNumber, isObject, isScore, isStringArray } from '../core/validate';
import type { EngineInfo } from './engineProtocol';
import type { SelfCheckResult } from '../core/selfCheck';
import type { VectorSummary } from '../core/vectors/vectorSummary';
import { formatBytes, formatParameters } from '../core/model/modelSummary';
import type { MonitorResult } from '../core/monitoring/monitor';
import { isScreenMetric, type ScreenMetric } from '../core/screening/metrics';
import { isWeightPrecision } from '../core/model/weightPrecision';
import type { ShiftReport, TraitShift } from '../core/finetuning/finetuningShift';
import {
  parseSteeringLabCell,
  parseSteeringLabResults,
  parseSteeringLabSettings,
  type SteeringLabCell,
  type SteeringLabResults,
  type SteeringLabSettings,
} from '../core/extraction/steeringLabResults';

export type { VectorSummary, MonitorResult, SteeringLabCell, SteeringLabResults, SteeringLabSettings, SelfCheckResult };
// The page imports only this module: what it shows of the core's rules comes through here.
export { parseSteeringLabSettings, STEERING_LIMITS } from '../core/extraction/steeringLabResults';
export { describeEvaluation } from '../core/extraction/steeringEvaluation';
export { metricLabel } from '../core/screening/metrics';

export type EngineStatus = 'stopped' | 'ready' | 'busy' | 'crashed';
export const ENGINE_STATUSES: readonly EngineStatus[] = ['stopped', 'ready', 'busy', 'crashed'];

/** not loaded: the engine loads it on first use; failed: `message` says why. */
export type PanelModelState = 'not loaded' | 'loading' | 'loaded' | 'failed';
export const PANEL_MODEL_STATES: readonly PanelModelState[] = ['not loaded', 'loading', 'loaded', 'failed'];

/** The engine card's model: the one selected, and what the engine knows of it. */
export interface PanelModel {
  /** Short name: organism (bundled), the folder or file name, ollama:NAME:TAG. */
  label: string;
  state: PanelModelState;
  /** Known once the engine has opened the model (Select Model…, the trait pick, a load). */
  details?: {
    architecture: string;
    format: 'safetensors' | 'gguf';
    precision: 'f32' | 'int8' | 'int4';
    parameters: number;
    /** Memory the engine needs for it at that precision. */
    bytes: number;
    layers: number;
    hiddenSize: number;
  };
  /** Where the loaded model runs (`personaLens.engine.device` resolved) and why, e.g. auto's reasons for cpu. */
  device?: { name: string; reason: string };
  message?: string;
}

export const PANEL_TABS = ['vectors', 'steering', 'monitor', 'dataset', 'shift'] as const;
export type PanelTab = (typeof PANEL_TABS)[number];

/** Where the monitored text came from. */
export interface MonitorSource {
  /** File name shown to the user. */
  file: string;
  /** True when only the selection was monitored. */
  selection: boolean;
}

/** Lines of one sample, 1-based and inclusive (as screening reports them). */
export interface LineRange {
  startLine: number;
  endLine: number;
}

/** The Dataset view's data: the active screened file's metric values per sample and trait, with thresholds. */
export interface DatasetView {
  /** Document uri: the only file revealLines may reveal in. */
  uri: string;
  /** File name shown to the user. */
  file: string;
  metric: ScreenMetric;
  /** One entry per trait, in the order of each sample's values. */
  traits: { trait: string; threshold: number; flagged: number }[];
  samples: (LineRange & { values: number[] })[];
}

/** Judged scores as the panel gets them: null where the judge scored nothing (NaN does not survive JSON). */
export interface ShiftScores {
  trait: number | null;
  coherence: number | null;
}

/** One trait of a finetuning-shift report (Compare Checkpoints), as the Shift view shows it. */
export type PanelTraitShift = Omit<TraitShift, 'base' | 'tuned'> & { base?: ShiftScores; tuned?: ShiftScores };

/** A finetuning-shift report (the engine's `shift` result) as the Shift view shows it. */
export type PanelShiftReport = Omit<ShiftReport, 'traits'> & { traits: PanelTraitShift[] };

export type SteeringRunStatus = 'complete' | 'cancelled' | 'failed';

export type HostToPanel =
  | { type: 'engineStatus'; status: EngineStatus; info?: EngineInfo; message?: string; /** The model in use and its state. */ model?: PanelModel }
  | { type: 'selfCheckProgress'; done: number; total: number }
  | { type: 'selfCheckResult'; result: SelfCheckResult }
  | { type: 'error'; message: string }
  | { type: 'vectors'; vectors: VectorSummary[] }
  /** A steering run began: the results so far (no cells yet) and the coefficients it will run. */
  | { type: 'steerStarted'; results: SteeringLabResults; coefficients: number[] }
  | { type: 'steerProgress'; done: number; total: number }
  /** One finished cell of the running steering run. */
  | { type: 'steerCell'; cell: SteeringLabCell }
  | { type: 'steerFinished'; status: SteeringRunStatus; message?: string; judge?: string }
  /** Results opened from a file. */
  | { type: 'steerResults'; results: SteeringLabResults; source: string }
  /** A note about saving or opening results. */
  | { type: 'steerStatus'; message: string; error: boolean }
  | { type: 'monitor'; result: MonitorResult; source: MonitorSource }
  /** Why there is no monitor result (no editor, engine error); empty clears it. */
  | { type: 'monitorStatus'; message: string }
  /** The active screened file, or none. */
  | { type: 'dataset'; view?: DatasetView }
  /** The last Compare Checkpoints result; `reveal` selects the Shift tab. */
  | { type: 'shiftReport'; report: PanelShiftReport; reveal: boolean };

export type PanelToHost =
  | { type: 'ready' }
  | { type: 'requestVectors' }
  | { type: 'runSelfCheck'; runs: number }
  | { type: 'cancel' }
  | { type: 'steerRun'; settings: SteeringLabSettings }
  | { type: 'steerCancel' }
  | { type: 'steerSave'; results: SteeringLabResults }
  | { type: 'steerOpen' }
  /** The Monitor view is shown (enabled) or hidden, and which vector its heat map uses. */
  | { type: 'monitorConfig'; enabled: boolean; heatmapVector?: string }
  | { type: 'requestDataset' }
  /** Reveal and select these lines of the screened document `uri`. */
  | { type: 'revealLines'; uri: string; ranges: LineRange[] };

/** State the panel persists with setState (survives hiding and reloads). */
export interface PanelState {
  lastSelfCheck?: SelfCheckResult;
  /** Path of the vector shown in the Vectors view. */
  selectedVector?: string;
  selectedTab?: PanelTab;
  /** The steering lab's last settings and results. */
  steeringSettings?: SteeringLabSettings;
  steeringResults?: SteeringLabResults;
  monitorVector?: string;
  datasetTrait?: string;
  /** The Shift view's last report. */
  shiftReport?: PanelShiftReport;
}

const isLine = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1;
const isLineRange = (v: unknown): v is LineRange => isObject(v) && isLine(v.startLine) && isLine(v.endLine) && (v.endLine as number) >= (v.startLine as number);

/** parseSteeringLabResults throws with a reason (for files); messages only need yes or no. */
function steeringResultsOrUndefined(v: unknown): SteeringLabResults | undefined {
  try {
    return parseSteeringLabResults(v);
  } catch {
    return undefined;
  }
}

export function parsePanelMessage(value: unknown): PanelToHost | undefined {
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'ready':
    case 'cancel':
    case 'requestVectors':
    case 'steerCancel':
    case 'steerOpen':
    case 'requestDataset':
      return { type: value.type };
    case 'runSelfCheck':
      return Number.isInteger(value.runs) && (value.runs as number) > 0 && (value.runs as number) <= 1000
        ? { type: 'runSelfCheck', runs: value.runs as number }
        : undefined;
    case 'steerRun': {
      const settings = parseSteeringLabSettings(value.settings);
      return settings ? { type: 'steerRun', settings } : undefined;
    }
    case 'steerSave': {
      const results = steeringResultsOrUndefined(value.results);
      return results ? { type: 'steerSave', results } : undefined;
    }
    case 'monitorConfig':
      return typeof value.enabled === 'boolean' && (value.heatmapVector === undefined || typeof value.heatmapVector === 'string')
        ? { type: 'monitorConfig', enabled: value.enabled, ...(value.heatmapVector !== undefined ? { heatmapVector: value.heatmapVector as string } : {}) }
        : undefined;
    case 'revealLines':
      return typeof value.uri === 'string' && Array.isArray(value.ranges) && value.ranges.length > 0 && value.ranges.length <= 10000 && value.ranges.every(isLineRange)
        ? { type: 'revealLines', uri: value.uri, ranges: value.ranges.map((r: LineRange) => ({ startLine: r.startLine, endLine: r.endLine })) }
        : undefined;
    default:
      return undefined;
  }
}

function isMonitorResult(v: unknown): v is MonitorResult {
  if (!isObject(v) || !isStringArray(v.tokens) || !Number.isInteger(v.truncated) || !Array.isArray(v.projections) || !Array.isArray(v.skipped)) return false;
  const referenceOk = (r: unknown) => r === undefined || (isObject(r) && isFiniteNumber(r.antiEliciting) && isFiniteNumber(r.eliciting));
  const projectionsOk = v.projections.every((p) => isObject(p) && typeof p.vectorPath === 'string' && typeof p.trait === 'string' && Number.isInteger(p.layer) && isFiniteNumber(p.value) && referenceOk(p.reference));
  const skippedOk = v.skipped.every((s) => isObject(s) && typeof s.vectorPath === 'string' && typeof s.message === 'string');
  const h = v.heatmap;
  const heatmapOk = h === undefined || (isObject(h) && typeof h.vectorPath === 'string' && typeof h.trait === 'string' && Number.isInteger(h.layer) && Array.isArray(h.values) && h.values.length === v.tokens.length && h.values.every(isFiniteNumber) && referenceOk(h.reference));
  return projectionsOk && skippedOk && heatmapOk;
}

function isDatasetView(v: unknown): v is DatasetView {
  if (!isObject(v) || typeof v.uri !== 'string' || typeof v.file !== 'string' || !isScreenMetric(v.metric)) return false;
  if (!Array.isArray(v.traits) || !v.traits.every((t) => isObject(t) && typeof t.trait === 'string' && isFiniteNumber(t.threshold) && Number.isInteger(t.flagged))) return false;
  const n = v.traits.length;
  return Array.isArray(v.samples) && v.samples.every((s: unknown) => isLineRange(s) && isObject(s) && Array.isArray(s.values) && s.values.length === n && s.values.every(isFiniteNumber));
}

/** A score the judge gave (0–100), or none. */
/** Generous bounds: a report is small, but nothing from outside may make the view allocate without limit. */
const MAX_SHIFT_TRAITS = 256;
const MAX_SHIFT_ROWS = 1024;

function parseShiftScores(v: unknown): ShiftScores | undefined | false {
  if (v === undefined) return undefined;
  return isObject(v) && isScore(v.trait) && isScore(v.coherence) ? { trait: v.trait, coherence: v.coherence } : false;
}

function parseTraitShift(v: unknown): PanelTraitShift | undefined {
  if (!isObject(v) || typeof v.trait !== 'string' || !Number.isInteger(v.layer) || (v.layer as number) < 0) return undefined;
  if (!isFiniteNumber(v.shift) || !isFiniteNumber(v.randomShift) || v.randomShift < 0 || !isFiniteNumber(v.activationChange) || v.activationChange < 0) return undefined;
  const { perLayer, perLayerRandom } = v;
  if (!Array.isArray(perLayer) || !Array.isArray(perLayerRandom) || perLayer.length === 0 || perLayer.length > MAX_SHIFT_ROWS || perLayerRandom.length !== perLayer.length) return undefined;
  if (!perLayer.every(isFiniteNumber) || !perLayerRandom.every((x) => isFiniteNumber(x) && x >= 0) || (v.layer as number) >= perLayer.length) return undefined;
  const base = parseShiftScores(v.base);
  const tuned = parseShiftScores(v.tuned);
  if (base === false || tuned === false) return undefined;
  return {
    trait: v.trait,
    layer: v.layer as number,
    shift: v.shift,
    randomShift: v.randomShift,
    perLayer: [...perLayer],
    perLayerRandom: [...perLayerRandom],
    activationChange: v.activationChange,
    ...(base ? { base } : {}),
    ...(tuned ? { tuned } : {}),
  };
}

/** A validated copy of a shift report (unknown fields dropped), or undefined. Also checks persisted panel state. */
export function parseShiftReport(v: unknown): PanelShiftReport | undefined {
  if (!isObject(v) || typeof v.base !== 'string' || typeof v.tuned !== 'string' || !Number.isInteger(v.questions) || (v.questions as number) < 0) return undefined;
  if (v.judgeNote !== undefined && typeof v.judgeNote !== 'string') return undefined;
  if (!Array.isArray(v.traits) || v.traits.length > MAX_SHIFT_TRAITS) return undefined;
  const traits = v.traits.map(parseTraitShift);
  if (!traits.every((t): t is PanelTraitShift => t !== undefined)) return undefined;
  return { base: v.base, tuned: v.tuned, questions: v.questions as number, traits, ...(v.judgeNote !== undefined ? { judgeNote: v.judgeNote } : {}) };
}

/** The engine's report for the panel: scores the judge could not give (NaN means) become null. */
export function toPanelShiftReport(report: ShiftReport): PanelShiftReport {
  const scores = (s?: { trait: number; coherence: number }): ShiftScores | undefined =>
    s && { trait: Number.isFinite(s.trait) ? s.trait : null, coherence: Number.isFinite(s.coherence) ? s.coherence : null };
  return {
    base: report.base,
    tuned: report.tuned,
    questions: report.questions,
    traits: report.traits.map(({ base, tuned, ...t }) => ({ ...t, ...(base ? { base: scores(base) } : {}), ...(tuned ? { tuned: scores(tuned) } : {}) })),
    ...(report.judgeNote !== undefined ? { judgeNote: report.judgeNote } : {}),
  };
}

/** "qwen2 · safetensors · f32 · 6 layers, d=64 · 0.5 M parameters · ~24.0 MiB in memory": the engine card's model line. */
export function describePanelModel(model: PanelModel): string {
  const d = model.details;
  const parts = d
    ? [d.architecture, d.format === 'gguf' ? 'GGUF' : 'safetensors', d.precision, `${d.layers} layers, d=${d.hiddenSize}`, formatParameters(d.parameters), `~${formatBytes(d.bytes)} in memory`]
    : ['architecture, precision and size once the engine has opened it'];
  return [...parts, ...(model.device ? [`on ${model.device.name} (${model.device.reason})`] : []), ...(model.message ? [model.message] : [])].join(' · ');
}

function isPanelModel(value: unknown): value is PanelModel {
  if (!isObject(value) || typeof value.label !== 'string' || !PANEL_MODEL_STATES.includes(value.state as PanelModelState)) return false;
  if (value.message !== undefined && typeof value.message !== 'string') return false;
  const device = value.device;
  if (device !== undefined && !(isObject(device) && typeof device.name === 'string' && typeof device.reason === 'string')) return false;
  const d = value.details;
  if (d === undefined) return true;
  return (
    isObject(d) &&
    typeof d.architecture === 'string' &&
    (d.format === 'safetensors' || d.format === 'gguf') &&
    isWeightPrecision(d.precision) &&
    [d.parameters, d.bytes, d.layers, d.hiddenSize].every(isFiniteNumber)
  );
}

export function parseHostToPanel(value: unknown): HostToPanel | undefined {
  if (!isObject(value)) return undefined;
  switch (value.type) {
    case 'engineStatus':
      return ENGINE_STATUSES.includes(value.status as EngineStatus) && (value.model === undefined || isPanelModel(value.model)) ? (value as HostToPanel) : undefined;
    case 'selfCheckProgress':
    case 'steerProgress':
      return isFiniteNumber(value.done) && isFiniteNumber(value.total) ? (value as HostToPanel) : undefined;
    case 'selfCheckResult':
      return isObject(value.result) && isFiniteNumber(value.result.msPerRun) ? (value as HostToPanel) : undefined;
    case 'error':
    case 'monitorStatus':
      return typeof value.message === 'string' ? (value as HostToPanel) : undefined;
    case 'vectors':
      return Array.isArray(value.vectors) && value.vectors.every((v) => isObject(v) && typeof v.path === 'string' && typeof v.trait === 'string' && Array.isArray(v.separation) && Array.isArray(v.vectorNorms) && Array.isArray(v.sweep))
        ? (value as HostToPanel)
        : undefined;
    case 'steerStarted': {
      const results = steeringResultsOrUndefined(value.results);
      return results && Array.isArray(value.coefficients) && value.coefficients.every(isFiniteNumber) ? { type: 'steerStarted', results, coefficients: value.coefficients as number[] } : undefined;
    }
    case 'steerCell': {
      const cell = parseSteeringLabCell(value.cell);
      return cell ? { type: 'steerCell', cell } : undefined;
    }
    case 'steerFinished':
      return ['complete', 'cancelled', 'failed'].includes(value.status as string) && (value.message === undefined || typeof value.message === 'string') && (value.judge === undefined || typeof value.judge === 'string')
        ? (value as HostToPanel)
        : undefined;
    case 'steerResults': {
      const results = steeringResultsOrUndefined(value.results);
      return results && typeof value.source === 'string' ? { type: 'steerResults', results, source: value.source } : undefined;
    }
    case 'steerStatus':
      return typeof value.message === 'string' && typeof value.error === 'boolean' ? (value as HostToPanel) : undefined;
    case 'monitor':
      return isMonitorResult(value.result) && isObject(value.source) && typeof value.source.file === 'string' && typeof value.source.selection === 'boolean' ? (value as HostToPanel) : undefined;
    case 'dataset':
      return value.view === undefined || isDatasetView(value.view) ? (value as HostToPanel) : undefined;
    case 'shiftReport': {
      const report = parseShiftReport(value.report);
      return report && typeof value.reveal === 'boolean' ? { type: 'shiftReport', report, reveal: value.reveal } : undefined;
    }
    default:
      return undefined;
  }
}
