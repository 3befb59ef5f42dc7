/**
 * The main job on a model with trait definitions and screening sets (the bundled organism by default), headless:
 * extract each trait's vector, measure steering (dose–response beside a norm-matched random control), screen
 * every dataset with every metric, and score the screening against the labels (AUROC) when labels exist.
 * `npm run demo` runs it and writes the HTML report.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { RunContext } from '../cancellation';
import type { LoadedModel } from '../model/loadedModel';
import type { Judge } from '../judges/judge';
import { readTraitFile } from '../traits/traitFile';
import { extractPersonaVector, type ExtractionResult } from '../extraction/extract';
import { describeEvaluation } from '../extraction/steeringEvaluation';
import { readDataset } from '../datasets/datasetReader';
import { Screener, type ScreenedSample } from '../screening/screener';
import { METRIC_KEYS, METRICS, SCREEN_METRICS, type MetricKey } from '../screening/metrics';
import { auroc, mean, percentile } from '../stats';

export interface DoseResponse {
  coefficients: number[];
  trait: number[];
  coherence: number[];
  randomTrait: number[];
  /** Under the trait's eliciting prompts: unsteered, and at −α. */
  suppression: { baselineTrait: number; trait: number };
  /** How the answers were produced, e.g. "3 sampled answers per question at temperature 1". */
  evaluation: string;
}

export interface TraitReport {
  trait: string;
  keptPairs: number;
  totalPairs: number;
  layer: number;
  coefficient: number;
  /** Per row: effect size of pos vs neg projections. */
  separation: number[];
  doseResponse: DoseResponse;
}

export interface DatasetReport {
  name: string;
  samples: number;
  /** trait → metric → values (per sample, in file order). */
  values: Record<string, Record<MetricKey, number[]>>;
  /** trait labels per sample when a labels file exists. */
  labels?: (string | null)[];
}

export interface MainJobResult {
  model: string;
  traits: TraitReport[];
  datasets: DatasetReport[];
  /** trait → set ("mild"/"strong") → metric → AUROC of trait samples vs the normal set's samples. */
  auroc: Record<string, Record<string, Record<MetricKey, number>>>;
  seconds: number;
}

export interface MainJobOptions {
  cacheRoot: string;
  maxTokens?: number;
  log?: (line: string) => void;
}

/**
 * α 2–4 spans the organism's steering range: below it nothing changes, above it answers lose coherence. 3.5 is in
 * the grid because α 3 fell short on held-out questions for hallucinating (57 where the bar is 60).
 */
export const MAIN_JOB_COEFFICIENTS = [2, 3, 3.5, 4];

export async function runMainJob(model: LoadedModel, judge: Judge, modelDir: string, options: MainJobOptions, ctx?: RunContext): Promise<MainJobResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const maxTokens = options.maxTokens ?? 48;
  const traitFiles = readdirSync(path.join(modelDir, 'traits')).filter((f) => f.endsWith('.json')).sort();
  const traits: TraitReport[] = [];
  const extracted: ExtractionResult[] = [];
  for (const file of traitFiles) {
    const trait = readTraitFile(path.join(modelDir, 'traits', file));
    log(`extracting "${trait.name}"…`);
    const result = await extractPersonaVector(model, trait, judge, { cacheRoot: options.cacheRoot, maxTokens, sweep: { coefficients: MAIN_JOB_COEFFICIENTS } }, ctx);
    // The extraction validated its own recommendation (dose–response, random control, suppression): report that.
    if (!result.recommended || !result.validation) throw new Error(`"${trait.name}": no coherent steering layer found`);
    const { layer, coefficient, doseResponse: points, suppression, evaluation } = result.validation;
    traits.push({
      trait: trait.name,
      keptPairs: result.keptPairs,
      totalPairs: result.totalPairs,
      layer,
      coefficient,
      separation: result.separation.map((s) => s.effectSize),
      doseResponse: {
        coefficients: points.map((p) => p.coefficient),
        trait: points.map((p) => p.trait),
        coherence: points.map((p) => p.coherence),
        randomTrait: points.map((p) => p.randomTrait),
        suppression: { baselineTrait: suppression.baselineTrait, trait: suppression.trait },
        evaluation: describeEvaluation(evaluation),
      },
    });
    extracted.push(result);
  }

  const datasetDir = path.join(modelDir, 'datasets');
  const screener = new Screener(
    model,
    traits.map((t, i) => ({ name: t.trait, layer: t.layer, direction: extracted[i].vectors.response_avg.slice(t.layer * extracted[i].d, (t.layer + 1) * extracted[i].d) })),
    { computeDelta: true, cacheRoot: options.cacheRoot, ownResponseTokens: maxTokens },
  );
  const datasets: DatasetReport[] = [];
  for (const file of existsSync(datasetDir) ? readdirSync(datasetDir).filter((f) => f.endsWith('.jsonl')).sort() : []) {
    const name = path.basename(file, '.jsonl');
    log(`screening ${file}…`);
    const samples: ScreenedSample[] = [];
    for await (const item of screener.screen(readDataset(path.join(datasetDir, file)), ctx)) if (item.kind === 'scored') samples.push(item);
    const values = Object.fromEntries(
      traits.map((t) => [t.trait, Object.fromEntries(METRIC_KEYS.map((k) => [k, samples.map((s) => s.scores[t.trait][k]!)])) as Record<MetricKey, number[]>]),
    );
    const labelsFile = path.join(datasetDir, 'labels', `${name}.labels.jsonl`);
    let labels: (string | null)[] | undefined;
    if (existsSync(labelsFile)) {
      const byLine = new Map<number, string | null>(readFileSync(labelsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((l: { line: number; trait: string | null }) => [l.line, l.trait]));
      labels = samples.map((s) => byLine.get(s.startLine) ?? null);
    }
    datasets.push({ name, samples: samples.length, values, labels });
  }

  // AUROC: a set's trait samples against the normal set (the realistic comparison: clean data vs poisoned data).
  const result: MainJobResult['auroc'] = {};
  const normal = datasets.find((d) => d.name === 'normal');
  for (const t of traits) {
    for (const set of ['mild', 'strong']) {
      const d = datasets.find((x) => x.name === `${t.trait}-${set}`);
      if (!normal || !d?.labels) continue;
      const positive = d.labels.map((l) => l === t.trait);
      const metrics = METRIC_KEYS.map((m) => {
        const scores = [...d.values[t.trait][m].filter((_, i) => positive[i]), ...normal.values[t.trait][m]];
        const labels = [...positive.filter(Boolean), ...normal.values[t.trait][m].map(() => false)];
        return [m, auroc(scores, labels)] as const;
      });
      (result[t.trait] ??= {})[set] = Object.fromEntries(metrics) as Record<MetricKey, number>;
    }
  }
  return { model: path.basename(modelDir), traits, datasets, auroc: result, seconds: (Date.now() - started) / 1000 };
}

/** Plain-text summary table of a main-job result. */
export function summaryTable(r: MainJobResult): string {
  const lines: string[] = [];
  lines.push(`Persona Lens main job on ${r.model} (${r.seconds.toFixed(0)} s)`);
  lines.push('');
  lines.push('trait           kept      layer  α     neutral → +α   +2α   random +α   eliciting → −α   separation (max effect size)');
  for (const t of r.traits) {
    const dr = t.doseResponse;
    lines.push(
      `${t.trait.padEnd(15)} ${`${t.keptPairs}/${t.totalPairs}`.padEnd(9)} ${String(t.layer).padEnd(6)} ${String(t.coefficient).padEnd(5)} ${dr.trait[2].toFixed(0).padStart(5)} → ${dr.trait[3].toFixed(0).padEnd(5)} ${dr.trait[4].toFixed(0).padStart(5)}  ${dr.randomTrait[3].toFixed(0).padStart(8)}     ${dr.suppression.baselineTrait.toFixed(0).padStart(5)} → ${dr.suppression.trait.toFixed(0).padEnd(5)}     ${Math.max(...t.separation).toFixed(1)}`,
    );
  }
  lines.push('');
  lines.push('dataset              samples  ' + r.traits.map((t) => `mean ΔP ${t.trait}`.padEnd(24)).join(''));
  for (const d of r.datasets) lines.push(`${d.name.padEnd(20)} ${String(d.samples).padEnd(8)} ` + r.traits.map((t) => mean(d.values[t.trait].delta).toFixed(3).padEnd(24)).join(''));
  lines.push('');
  lines.push(`AUROC, trait samples vs the normal set  ${SCREEN_METRICS.map((m) => METRICS[m].label.padEnd(17)).join('')}`);
  for (const [trait, sets] of Object.entries(r.auroc)) for (const [set, m] of Object.entries(sets)) lines.push(`${`${trait}-${set}`.padEnd(39)} ${SCREEN_METRICS.map((k) => m[METRICS[k].key].toFixed(3).padEnd(17)).join('')}`);
  return lines.join('\n');
}

export function thresholdOf(values: number[], p = 95): number {
  return percentile(values, p);
}
