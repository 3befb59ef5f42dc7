/**
 * `npm run bench`: speed and memory figures, measured side by side in one run, printed as one table.
 * Not a test: numbers here are read by people and recorded in issue notes.
 */
import { benchActivation } from './activation';
import { benchDecoder } from './decoder';
import { benchScreening } from './screening';
import { benchLargeModel } from './largeModel';
import { benchExtractionCost } from './extractionCost';
import { benchDevices } from './devices';
import { formatTable, type BenchRow } from './table';

async function main(): Promise<void> {
  const rows: BenchRow[] = [];
  rows.push(...benchActivation());
  rows.push(...benchDecoder());
  rows.push(...(await benchDevices()));
  rows.push(...benchScreening());
  rows.push(...benchExtractionCost());
  rows.push(...benchLargeModel());
  console.log(formatTable(rows));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
