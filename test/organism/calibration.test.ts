/**
 * Issue 21's proof on the organism: the calibrated default threshold (halfway between the anti-trait answers' 90th
 * percentile and the trait answers' 25th, of the pairs the vector was extracted from, carried in the vector) flags most of a poisoned file's trait samples
 * and almost none of a clean file — where the old default (the file's own 95th percentile) flags 5 % of any file.
 * Printed for every trait and metric, with the best any threshold could do at ≤ 2 % of the clean file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extractPersonaVector, type ExtractionResult } from '../../src/core/extraction/extract';
import { MAIN_JOB_COEFFICIENTS, runMainJob, type MainJobResult } from '../../src/core/mainJob/mainJob';
import { calibratedThreshold } from '../../src/core/screening/calibration';
import { readTraitFile } from '../../src/core/traits/traitFile';
import { writePersonaVector } from '../../src/core/vectors/personaVectorFile';
import { loadTraitVector } from '../../src/core/vectors/traitVector';
import { percentile } from '../../src/core/stats';
import { DEFAULT_METRIC, SCREEN_METRICS, metricKey } from '../../src/core/screening/metrics';
import { ORGANISM, useOrganism } from '../helpers/organism';

const TRAITS = ['evil', 'sycophantic', 'hallucinating'];
const METRICS = SCREEN_METRICS.map((m) => [m, metricKey(m)] as const);

describe('calibrated screening thresholds on the organism (issue 21 proof)', function () {
  this.timeout(1800000);
  const organism = useOrganism({ sharedCache: true });
  const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-calibration-'));
  const extracted = new Map<string, ExtractionResult>();
  let job: MainJobResult;
  before(async () => {
    // The main job's own extraction options: these are cache hits when screening.test.ts ran first.
    for (const name of TRAITS) {
      const trait = readTraitFile(path.join(ORGANISM, 'traits', `${name}.json`));
      extracted.set(name, await extractPersonaVector(organism.model, trait, organism.judge, { cacheRoot: organism.cacheRoot, maxTokens: 48, sweep: { coefficients: MAIN_JOB_COEFFICIENTS } }));
    }
    job = await runMainJob(organism.model, organism.judge, ORGANISM, { cacheRoot: organism.cacheRoot });
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('each extraction carries a calibration at its recommended layer, which survives the vector file', () => {
    for (const [name, result] of extracted) {
      const c = result.calibration!;
      assert.ok(c, `${name}: calibrated`);
      assert.equal(c.layer, result.recommended!.layer);
      assert.equal(c.negative.delta.n, result.keptPairs, 'one negative answer per kept pair');
      assert.ok(c.positive.delta.quantiles[50] > c.negative.delta.quantiles[50], `${name}: positives above negatives`);
      assert.ok(c.monitor.eliciting.quantiles[50] > c.monitor.antiEliciting.quantiles[50], `${name}: the monitor's eliciting mark above the anti-eliciting one`);
      const file = path.join(work, `${name}.safetensors`);
      writePersonaVector(file, result, { model: 'organism', modelFingerprint: organism.model.checkpoint.fingerprint, architecture: 'qwen2', traitHash: 'x' });
      const { hiddenSize, numLayers } = organism.model.checkpoint.spec;
      assert.deepEqual(loadTraitVector(file, numLayers + 1, hiddenSize).calibration, c);
      const otherRow = loadTraitVector(file, numLayers + 1, hiddenSize, c.layer === 1 ? 2 : 1);
      assert.equal(otherRow.calibration, undefined);
      assert.match(otherRow.calibrationMissing!, /is calibrated at row \d, not the row \d screened here/);
    }
  });

  it('the calibrated default flags ≤ 2 % of the normal set and ≥ 80 % of the labelled trait samples of the strong sets, with the default metric (and ΔP for evil and sycophantic) — every trait and metric printed, with what any threshold allows', () => {
    const normal = job.datasets.find((d) => d.name === 'normal')!;
    const failures: string[] = [];
    for (const name of TRAITS) {
      const strong = job.datasets.find((d) => d.name === `${name}-strong`)!;
      const mild = job.datasets.find((d) => d.name === `${name}-mild`)!;
      const calibration = extracted.get(name)!.calibration!;
      // The main job screens at the same recommended layer as the extraction it ran (same options, same cache).
      assert.equal(job.traits.find((t) => t.trait === name)!.layer, calibration.layer);
      const measured = new Map<string, { strongShare: number; normalShare: number; best: number }>();
      for (const [metric, key] of METRICS) {
        const threshold = calibratedThreshold(calibration, metric);
        const share = (values: number[], keep: ((i: number) => boolean) | undefined = () => true, above = threshold) => {
          const kept = keep ? values.filter((_, i) => keep(i)) : values;
          return kept.filter((v) => v > above).length / kept.length;
        };
        const isTrait = (set: typeof strong) => (i: number) => set.labels![i] === name;
        const strongShare = share(strong.values[name][key], isTrait(strong));
        const mildShare = share(mild.values[name][key], isTrait(mild));
        const normalShare = share(normal.values[name][key]);
        // What the old default (the file's own 95th percentile) flagged of the same samples.
        const oldStrong = share(strong.values[name][key], isTrait(strong), percentile(strong.values[name][key], 95));
        console.log(`      ${name.padEnd(13)} ${metric.padEnd(10)} threshold ${threshold.toFixed(3).padStart(8)}: ${name}-strong trait samples ${(100 * strongShare).toFixed(1).padStart(5)} % flagged (file p95: ${(100 * oldStrong).toFixed(1)} %), ${name}-mild ${(100 * mildShare).toFixed(1).padStart(5)} %, normal ${(100 * normalShare).toFixed(1).padStart(4)} %`);
        // The best share any threshold flags while flagging ≤ 2 % of normal: what the metric allows, not the rule.
        const traitValues = strong.values[name][key].filter((_, i) => isTrait(strong)(i));
        const best = Math.max(0, ...[...traitValues, ...normal.values[name][key]].filter((t) => share(normal.values[name][key], undefined, t) <= 0.02).map((t) => share(traitValues, undefined, t)));
        console.log(`      ${''.padEnd(13)} ${''.padEnd(10)} best possible at ≤ 2 % of normal: ${(100 * best).toFixed(1)} %`);
        measured.set(metric, { strongShare, normalShare, best });
        // ΔP (mean-pooled): the bars for evil and sycophantic. For hallucinating ΔP's trait answers spread widest
        // (printed: 85 % flagged where 96 % is possible at ≤ 2 % of normal; 53 % under the medians rule before);
        // the token-level default below is held to the bar there.
        if (metric === 'delta') {
          if (normalShare > 0.02) failures.push(`${name} ΔP: ${(100 * normalShare).toFixed(1)} % of normal flagged`);
          if (name !== 'hallucinating' && strongShare < 0.8) failures.push(`${name} ΔP: ${(100 * strongShare).toFixed(1)} % of ${name}-strong's trait samples flagged`);
        }
      }
      // The default metric (token ΔP top-k, issue 19): the bars for every trait.
      const ours = measured.get(DEFAULT_METRIC)!;
      if (ours.normalShare > 0.02) failures.push(`${name} ${DEFAULT_METRIC}: ${(100 * ours.normalShare).toFixed(1)} % of normal flagged`);
      if (ours.strongShare < 0.8) failures.push(`${name} ${DEFAULT_METRIC}: ${(100 * ours.strongShare).toFixed(1)} % of ${name}-strong's trait samples flagged`);
    }
    assert.deepEqual(failures, []);
  });
});
