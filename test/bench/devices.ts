/**
 * Per-device rows: each accelerator this platform's onnxruntime-node build lists is resolved as an explicit choice
 * (initialise + self-check); one that resolves runs the Qwen2.5-0.5B-shaped f32 decoder bench, one that does not
 * gets a row saying why. The CPU rows are benchDecoder's.
 */
import type { BenchRow } from './table';
import { writeBenchCheckpoint } from './benchCheckpoint';
import { runDecoderBench } from './decoder';
import { AUTO_ORDER, EXECUTION_PROVIDERS, onnxRuntimeProbe, resolveDevice } from '../../src/core/onnx/devices';

export async function benchDevices(): Promise<BenchRow[]> {
  const probe = onnxRuntimeProbe();
  const listed = new Set(probe.backends().map((b) => b.name));
  const rows: BenchRow[] = [];
  const prompt = 512;
  for (const device of AUTO_ORDER) {
    if (!listed.has(EXECUTION_PROVIDERS[device])) continue;
    try {
      await resolveDevice(device, probe);
    } catch (err) {
      rows.push({ benchmark: `${device}: not available on this machine`, value: 'skipped', unit: '', target: (err as Error).message.slice(0, 240) });
      continue;
    }
    const ours = runDecoderBench(writeBenchCheckpoint(), prompt, 'f32', 0, device);
    const tag = `Qwen2.5-0.5B-shaped f32 (${device})`;
    rows.push(
      { benchmark: `${tag}: prefill, ${prompt}-token prompt`, value: ((prompt / ours.prefillMs) * 1000).toFixed(0), unit: 'tokens/s' },
      { benchmark: `${tag}: decode with KV cache (32-token context)`, value: (1000 / ours.decodeMs).toFixed(1), unit: 'tokens/s' },
      { benchmark: `${tag}: peak RSS of the engine process`, value: ours.maxRssMiB.toFixed(0), unit: 'MiB' },
    );
  }
  return rows;
}
