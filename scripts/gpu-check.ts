/**
 * The GPU check of issue 20, for a machine with a GPU (none of ours has one yet; NOT YET RUN ON A GPU). Offline:
 * random checkpoints are written here from seeds, the tokenizer comes from node_modules, nothing is downloaded.
 * For each accelerator asked for (default: webgpu and cuda) against the CPU, on the same weights at each precision
 * asked for (default f32 and int8; int4 too with --weights f32,int8,int4):
 *   - every hidden row of a 64-token prompt, plain and steered: worst cosine ≥ 0.9999 at f32, ≥ 0.995 at int8 / int4
 *     (the CPU's int8-compute MatMulNBits also rounds the activations per block; a GPU kernel may not);
 *   - greedy generation of 24 tokens, plain and steered at a middle row: identical tokens (required at f32, reported
 *     at int8 / int4, where a near-flat random-weight distribution may break a tie the other way);
 *   - where the nodes run: a child session with onnxruntime's verbose log, the nodes placed on the CPU provider
 *     counted (a layer-loop node there is a defect; shape bookkeeping on the CPU is expected);
 *   - prefill (512 tokens) and decode (KV cache) speed.
 * A device that does not resolve is reported with the reason, not failed. Exit 1 when any check fails on a device
 * that ran, 2 when no requested device ran.
 *
 *   node --require tsx/cjs scripts/gpu-check.ts [--devices webgpu,cuda] [--shapes small,0.5b,7b] [--weights f32,int8,int4]
 *     [--out gpu-check.json]
 *
 * (or the packed copy from scripts/gpu-check-pack.sh, which brings Node and everything it needs).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel, type LoadedModel } from '../src/core/model/loadedModel';
import { generate } from '../src/core/model/generate';
import { buildRowIntervention } from '../src/core/model/steering';
import { DeviceError, resolveDevice, sessionProviders } from '../src/core/onnx/devices';
import { isDeviceChoice, type Device } from '../src/core/onnx/deviceChoice';
import { loadOnnxRuntime } from '../src/core/onnx/runtime';
import { seededNormal, writeRandomCheckpoint } from '../test/helpers/randomCheckpoint';
import { QWEN_05B, QWEN_7B, writeBenchCheckpoint } from '../test/bench/benchCheckpoint';
import { cosine } from '../test/helpers/cosine';
import { cpuComputeNodes, parsePlacements } from '../test/bench/placements';
import { isWeightPrecision, type WeightPrecision } from '../src/core/model/weightPrecision';

const cosineBar = (weights: WeightPrecision) => (weights === 'f32' ? 0.9999 : 0.995);

interface Row {
  device: string;
  shape: string;
  check: string;
  value: string;
  ok?: boolean;
}

function shapeDir(shape: string, work: string): string {
  if (shape === 'small') return writeRandomCheckpoint({ architecture: 'qwen2', layers: 4, hidden: 256, intermediate: 512, heads: 4, kvHeads: 2, seed: 20, dir: path.join(work, 'small') }).dir;
  if (shape === '0.5b') return writeBenchCheckpoint(QWEN_05B);
  // BF16 as the hub ships it (14 GB on disk instead of 30); it runs at f32 like the others (~36 GB of RAM).
  if (shape === '7b') return writeBenchCheckpoint(QWEN_7B, 'BF16');
  throw new Error(`--shapes: unknown shape ${shape} (small, 0.5b, 7b)`);
}

const PROMPT = Array.from({ length: 64 }, (_, i) => (i * 7919 + 11) % 5000);

function steering(model: LoadedModel) {
  const { hiddenSize: d, numLayers } = model.checkpoint.spec;
  const normal = seededNormal(7);
  const v = Float32Array.from({ length: d }, () => normal());
  const norm = Math.hypot(...v);
  const row = Math.floor(numLayers / 2);
  return { row, iv: buildRowIntervention([{ vector: v.map((x) => (x / norm) * 8), rows: [row], coefficient: 1 }], numLayers + 1, d) };
}

async function hiddenRows(model: LoadedModel, steered: boolean): Promise<Map<number, Float32Array>> {
  const rows = model.session.rows;
  const iv = steered ? steering(model).iv : undefined;
  const out = await model.session.forward({ tokens: [PROMPT], captureRows: Array.from({ length: rows }, (_, r) => r), logits: 'none', intervention: iv ? { add: [iv.add] } : undefined });
  return out.hidden;
}

async function greedy(model: LoadedModel, steered: boolean): Promise<number[]> {
  const iv = steered ? steering(model).iv : undefined;
  const result = await generate(model.session, model.tokenizer, { prompts: [PROMPT.slice(0, 16)], maxTokens: 24, eosTokenIds: [], ...(iv ? { interventions: [iv] } : {}) });
  return result.tokens[0];
}

async function speed(model: LoadedModel): Promise<{ prefill: number; decode: number }> {
  const tokens = Array.from({ length: 512 }, (_, i) => (i * 7919) % Math.min(150000, model.checkpoint.spec.vocabSize));
  await model.session.forward({ tokens: [tokens.slice(0, 16)], logits: 'last' });
  const t0 = performance.now();
  await model.session.forward({ tokens: [tokens], logits: 'last' });
  const prefillMs = performance.now() - t0;
  let out = await model.session.forward({ tokens: [tokens.slice(0, 32)], logits: 'last' });
  const t1 = performance.now();
  for (let s = 0; s < 32; s++) out = await model.session.forward({ tokens: [[tokens[s]]], past: out.cache, logits: 'last' });
  return { prefill: (512 / prefillMs) * 1000, decode: (32 / (performance.now() - t1)) * 1000 };
}

function findOnnx(folder: string): string | undefined {
  for (const name of readdirSync(folder)) {
    const p = path.join(folder, name);
    if (name === 'model.onnx') return p;
    if (statSync(p).isDirectory()) {
      const found = findOnnx(p);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Node placement: a child process creates the session with onnxruntime's verbose log (it goes to the native stderr)
 * and we read its "Node placements" lines. Returns the CPU-placed node names, or the reason it could not tell.
 */
function cpuPlacedNodes(onnxPath: string, device: Device): { nodes: string[] } | { unknown: string } {
  if (process.argv.includes('--placement-child')) throw new Error('nested');
  const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--placement-child', onnxPath, device], { encoding: 'utf8', maxBuffer: 256 << 20, timeout: 600_000 });
  const log = `${child.stdout}\n${child.stderr}`;
  if (child.status !== 0) return { unknown: `placement child exited ${child.status}: ${log.split('\n').filter((l) => l.trim()).slice(-1)[0] ?? ''}` };
  if (!log.includes('Node placements')) return { unknown: 'no "Node placements" in the verbose log (another onnxruntime version?)' };
  return { nodes: parsePlacements(log).get('CPUExecutionProvider') ?? [] };
}

async function placementChild(onnxPath: string, device: Device): Promise<void> {
  const ort = loadOnnxRuntime();
  const session = await ort.InferenceSession.create(onnxPath, { ...sessionProviders(device), logSeverityLevel: 0, logVerbosityLevel: 0 });
  await session.release();
}

async function main(): Promise<number> {
  if (process.argv[2] === '--placement-child') {
    await placementChild(process.argv[3], process.argv[4] as Device);
    return 0;
  }
  const { values } = parseArgs({ options: { devices: { type: 'string', default: 'webgpu,cuda' }, shapes: { type: 'string', default: 'small,0.5b' }, weights: { type: 'string', default: 'f32,int8' }, out: { type: 'string', default: 'gpu-check.json' } } });
  const devices = values.devices.split(',').map((d) => d.trim());
  const precisions = values.weights.split(',').map((w) => w.trim());
  for (const w of precisions) if (!isWeightPrecision(w)) throw new Error(`--weights: ${w} is not one of f32, int8, int4`);
  // cpu against itself is the script's own dry run (what could be run without a GPU).
  for (const d of devices) if (!isDeviceChoice(d) || d === 'auto') throw new Error(`--devices: ${d} is not one of webgpu, cuda, dml, coreml (or cpu, a dry run)`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-gpu-check-'));
  const rows: Row[] = [];
  const add = (row: Row) => {
    rows.push(row);
    console.log(`${row.device.padEnd(7)} ${row.shape.padEnd(11)} ${row.check.padEnd(52)} ${row.value}${row.ok === undefined ? '' : row.ok ? '  ok' : '  FAILED'}`);
  };
  let ran = 0;
  try {
    const available: Device[] = [];
    for (const device of devices as Device[]) {
      try {
        add({ device, shape: '-', check: 'resolves (initialises, passes the self-check)', value: (await resolveDevice(device)).reason, ok: true });
        available.push(device);
      } catch (err) {
        add({ device, shape: '-', check: 'not available', value: err instanceof DeviceError ? err.message : String(err) });
      }
    }
    for (const shapeName of values.shapes.split(',').map((s) => s.trim())) {
      if (!available.length) break;
      const dir = shapeDir(shapeName, work);
      for (const weights of precisions as WeightPrecision[]) {
        const shape = `${shapeName} ${weights}`;
        // One cache per precision, so findOnnx below finds this precision's graph.
        const cacheRoot = path.join(work, 'cache', weights);
        const cpu = await loadModel(dir, { cacheRoot, weights, device: 'cpu' });
        const reference = { plain: await hiddenRows(cpu, false), steered: await hiddenRows(cpu, true), greedy: await greedy(cpu, false), greedySteered: await greedy(cpu, true) };
        const steersTokens = JSON.stringify(reference.greedy) !== JSON.stringify(reference.greedySteered);
        add({ device: 'cpu', shape, check: 'steering changes the greedy tokens (so its check bites)', value: steersTokens ? 'yes' : 'no', ok: steersTokens });
        const cpuSpeed = await speed(cpu);
        add({ device: 'cpu', shape, check: 'prefill 512 / decode tok/s', value: `${cpuSpeed.prefill.toFixed(0)} / ${cpuSpeed.decode.toFixed(1)}` });
        await cpu.session.release();
        for (const device of available) {
          ran++;
          const model = await loadModel(dir, { cacheRoot, weights, device });
          for (const steered of [false, true]) {
            const rowsOf = await hiddenRows(model, steered);
            const ref = steered ? reference.steered : reference.plain;
            let worst = 1;
            for (const [r, h] of ref) worst = Math.min(worst, cosine(h, rowsOf.get(r)!));
            add({ device, shape, check: `worst hidden-row cosine to cpu${steered ? ', steered' : ''}`, value: worst.toFixed(6), ok: worst >= cosineBar(weights) });
            const tokens = await greedy(model, steered);
            const same = JSON.stringify(tokens) === JSON.stringify(steered ? reference.greedySteered : reference.greedy);
            add({ device, shape, check: `greedy 24 tokens identical to cpu${steered ? `, steered at row ${steering(model).row}` : ''}`, value: same ? 'identical' : `differ: ${tokens.join(' ')}`, ...(weights === 'f32' ? { ok: same } : {}) });
          }
          const s = await speed(model);
          add({ device, shape, check: 'prefill 512 / decode tok/s', value: `${s.prefill.toFixed(0)} / ${s.decode.toFixed(1)}` });
          await model.session.release();
          const onnx = findOnnx(cacheRoot);
          const placed = onnx ? cpuPlacedNodes(onnx, device) : { unknown: 'no model.onnx in the cache' };
          if ('unknown' in placed) add({ device, shape, check: 'nodes placed on the CPU provider', value: `unknown: ${placed.unknown}` });
          else {
            const compute = device === 'cpu' ? [] : cpuComputeNodes(placed.nodes);
            const byOp = new Map<string, number>();
            for (const n of placed.nodes) byOp.set(n.split(' ')[0], (byOp.get(n.split(' ')[0]) ?? 0) + 1);
            add({ device, shape, check: 'all nodes placed on the CPU provider, by op', value: [...byOp].map(([op, k]) => `${op} ${k}`).join(', ') || 'none' });
            add({ device, shape, check: 'compute nodes placed on the CPU provider', value: `${compute.length} of ${placed.nodes.length} CPU nodes${compute.length ? `: ${compute.slice(0, 8).join(', ')}` : ''}`, ok: compute.length === 0 });
          }
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(values.out, JSON.stringify({ onnxruntime: loadOnnxRuntime().env.versions.common, platform: `${process.platform}-${process.arch}`, node: process.version, rows }, null, 2));
  console.log(`written ${values.out}`);
  if (rows.some((r) => r.ok === false)) return 1;
  return ran ? 0 : 2;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
