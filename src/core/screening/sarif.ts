/** SARIF 2.1.0 for flagged samples, so GitHub code scanning and VS Code's SARIF viewer show the lines. */
import type { ScreenMetric, ScreenedSample } from './screener';
import { metricValue, type TraitSummary } from './summary';
import type { DatasetIssue } from '../datasets/datasetReader';
import { VERSION } from '../version';
import { METRICS, metricLabel } from './metrics';
import { peakText } from '../monitoring/tokenProjections';

export function toSarif(datasetUri: string, samples: readonly ScreenedSample[], issues: readonly DatasetIssue[], summaries: TraitSummary[], metric: ScreenMetric): object {
  const results = [];
  for (const s of summaries) {
    for (const sample of samples) {
      const value = metricValue(sample, s.trait, metric);
      if (value <= s.threshold) continue;
      const peak = sample.peaks?.[s.trait]?.length ? peakText(sample.peaks[s.trait]) : undefined;
      results.push({
        ruleId: `persona-lens/${s.trait}`,
        level: 'warning',
        message: { text: `Sample ${sample.index} may induce "${s.trait}": ${metricLabel(metric)} = ${value.toFixed(3)} (threshold ${s.threshold.toFixed(3)}: ${s.thresholdRule})${peak ? `, highest at: ${peak}` : ''}` },
        locations: [{ physicalLocation: { artifactLocation: { uri: datasetUri }, region: { startLine: sample.startLine, endLine: sample.endLine } } }],
        properties: { trait: s.trait, metric, value, threshold: s.threshold, thresholdRule: s.thresholdRule, sampleIndex: sample.index, ...(peak ? { peak } : {}) },
      });
    }
  }
  for (const issue of issues) {
    results.push({
      ruleId: 'persona-lens/unreadable-sample',
      level: 'note',
      message: { text: issue.message },
      locations: [{ physicalLocation: { artifactLocation: { uri: datasetUri }, region: { startLine: issue.startLine, endLine: issue.endLine } } }],
    });
  }
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Persona Lens',
            version: VERSION,
            informationUri: 'https://arxiv.org/abs/2507.21509',
            rules: [
              ...summaries.map((s) => ({ id: `persona-lens/${s.trait}`, shortDescription: { text: `Sample likely to induce the "${s.trait}" persona` }, help: { text: `Persona-vector ${metricLabel(metric)} (${METRICS[metric].description}) above the threshold: fine-tuning on this sample may shift the model toward "${s.trait}".` } })),
              { id: 'persona-lens/unreadable-sample', shortDescription: { text: 'Sample could not be read or scored' } },
            ],
          },
        },
        results,
      },
    ],
  };
}
