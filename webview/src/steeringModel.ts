/**
 * The steering lab's results as the panel holds them: cells added as they stream in, the grid layout (baseline
 * column first) and the chart's series (trait and coherence per vector, and the random-direction control).
 * Pure (no DOM): the organism test feeds it the host's real messages.
 */
import type { SteeringLabCell, SteeringLabResults } from '../../src/protocol/panelProtocol';

const sameCell = (a: SteeringLabCell, b: SteeringLabCell) => a.vectorPath === b.vectorPath && a.series === b.series && a.coefficient === b.coefficient;

/** The results with `cell` added (a cell for the same vector, series and coefficient is replaced). */
export function withCell(results: SteeringLabResults, cell: SteeringLabCell): SteeringLabResults {
  return { ...results, cells: [...results.cells.filter((c) => !sameCell(c, cell)), cell] };
}

/** Column order: the baseline α = 0 first, then ascending coefficients. */
export function columnOrder(coefficients: Iterable<number>): number[] {
  const unique = [...new Set(coefficients)];
  return [...unique.filter((c) => c === 0), ...unique.filter((c) => c !== 0).sort((a, b) => a - b)];
}

export interface LabRow {
  vectorPath: string;
  trait: string;
  series: SteeringLabCell['series'];
  /** Cells by coefficient. */
  cells: Map<number, SteeringLabCell>;
}

/** One row per vector (persona vector, then its random control), in the order the settings list the vectors. */
export function labRows(results: SteeringLabResults): LabRow[] {
  const order = [...results.settings.vectorPaths, ...results.cells.map((c) => c.vectorPath).filter((p) => !results.settings.vectorPaths.includes(p))];
  const rows: LabRow[] = [];
  for (const vectorPath of [...new Set(order)]) {
    for (const series of ['vector', 'random'] as const) {
      const cells = results.cells.filter((c) => c.vectorPath === vectorPath && c.series === series);
      if (!cells.length) continue;
      rows.push({ vectorPath, trait: cells[0].trait, series, cells: new Map(cells.map((c) => [c.coefficient, c])) });
    }
  }
  return rows;
}

export interface ChartSeries {
  vectorPath: string;
  trait: string;
  kind: 'trait' | 'coherence' | 'random';
  label: string;
  /** Ascending in x (the coefficient). */
  points: { x: number; y: number }[];
}

/**
 * Score vs coefficient: per vector the judged trait score and coherence, and the trait score under the
 * norm-matched random direction (its α = 0 point is the vector's baseline: no steering is the same for both).
 */
export function chartSeries(results: SteeringLabResults): ChartSeries[] {
  const out: ChartSeries[] = [];
  const points = (cells: SteeringLabCell[], score: (c: SteeringLabCell) => number | null) =>
    cells
      .filter((c) => score(c) !== null)
      .map((c) => ({ x: c.coefficient, y: score(c)! }))
      .sort((a, b) => a.x - b.x);
  for (const row of labRows(results)) {
    const cells = [...row.cells.values()];
    if (row.series === 'vector') {
      out.push({ vectorPath: row.vectorPath, trait: row.trait, kind: 'trait', label: `${row.trait}: trait score`, points: points(cells, (c) => c.meanTrait) });
      out.push({ vectorPath: row.vectorPath, trait: row.trait, kind: 'coherence', label: `${row.trait}: coherence`, points: points(cells, (c) => c.meanCoherence) });
    } else {
      const baseline = results.cells.find((c) => c.vectorPath === row.vectorPath && c.series === 'vector' && c.coefficient === 0);
      out.push({ vectorPath: row.vectorPath, trait: row.trait, kind: 'random', label: `${row.trait}: random direction (control)`, points: points(baseline && !row.cells.has(0) ? [baseline, ...cells] : cells, (c) => c.meanTrait) });
    }
  }
  return out;
}
