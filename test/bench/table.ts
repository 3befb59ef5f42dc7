/** The bench's output: one table, printed once at the end. */
export interface BenchRow {
  benchmark: string;
  value: string;
  unit: string;
  target?: string;
  ok?: boolean;
}

export function formatTable(rows: BenchRow[]): string {
  const header = ['benchmark', 'value', 'unit', 'target', 'met'];
  const body = rows.map((r) => [r.benchmark, r.value, r.unit, r.target ?? '', r.ok === undefined ? '' : r.ok ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}
