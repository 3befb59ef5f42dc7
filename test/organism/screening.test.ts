/**
 * Issue 6's proof on the organism's screening sets (labels live in separate files, never in the samples):
 * the main job's AUROC of trait vs normal samples, per trait and metric, and the ordering of mean ΔP.
 * Also renders the HTML report and checks it is self-contained.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { runMainJob, summaryTable, type MainJobResult } from '../../src/core/mainJob/mainJob';
import { renderReport } from '../../src/core/mainJob/htmlReport';
import { mean } from '../../src/core/stats';
import { repoRoot } from '../helpers/mockVscode';
import { ORGANISM, useOrganism } from '../helpers/organism';


describe('screening the organism\'s datasets (issue 6 proof)', function () {
  this.timeout(900000);
  const organism = useOrganism({ sharedCache: true });
  let result: MainJobResult;
  before(async () => {
    result = await runMainJob(organism.model, organism.judge, ORGANISM, { cacheRoot: organism.cacheRoot });
    console.log(summaryTable(result).split('\n').map((l) => `      ${l}`).join('\n'));
  });

  it('ΔP separates trait samples from normal ones with AUROC ≥ 0.9 on every strongly trait-inducing set', () => {
    for (const trait of ['evil', 'sycophantic', 'hallucinating']) assert.ok(result.auroc[trait].strong.delta >= 0.9, `${trait}: AUROC ${result.auroc[trait].strong.delta}`);
  });

  it('mean ΔP orders the sets normal < mild < strong for every trait', () => {
    for (const trait of ['evil', 'sycophantic', 'hallucinating']) {
      const m = (name: string) => mean(result.datasets.find((d) => d.name === name)!.values[trait].delta);
      assert.ok(m('normal') < m(`${trait}-mild`) && m(`${trait}-mild`) < m(`${trait}-strong`), `${trait}: ${m('normal')} / ${m(`${trait}-mild`)} / ${m(`${trait}-strong`)}`);
    }
  });

  it('steering with each recommended vector raises the neutral score to ≥ 60; random directions do less than a third of that at ±α', () => {
    // The main job's validation: held-out questions, fresh seeds, the mean of three random directions of v's norm
    // (see the extraction test: at |αv| ≈ |h| a random direction perturbs the organism by 5–30 points).
    for (const t of result.traits) {
      const dr = t.doseResponse;
      assert.ok(dr.trait[2] <= 15 && dr.trait[3] >= 60, `${t.trait}: ${dr.trait.join(', ')}`);
      const effect = dr.trait[3] - dr.trait[2];
      for (const k of [1, 3]) assert.ok(Math.abs(dr.randomTrait[k] - dr.randomTrait[2]) < effect / 3, `${t.trait} random control: ${dr.randomTrait.join(', ')} (v: ${dr.trait.join(', ')})`);
    }
  });

  it('the HTML report embeds chart.js and its data, and loads nothing from the network', () => {
    const chartJs = readFileSync(path.join(repoRoot, 'node_modules', 'chart.js', 'dist', 'chart.umd.min.js'), 'utf8');
    const html = renderReport(result, chartJs);
    assert.ok(html.includes(chartJs.slice(0, 200)));
    assert.doesNotMatch(html.replace(chartJs, ''), /<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!arxiv\.org|json\.schemastore)/);
    for (const id of ['separation', 'dose', 'hist']) assert.match(html, new RegExp(`id="${id}"`));
  });
});
