/**
 * Where the engine runs its graphs: this platform's onnxruntime-node build lists its execution providers
 * (`listSupportedBackends()`: name + whether the npm package bundles it), our device names map onto them, and a
 * choice resolves to one device with the reason. `auto` keeps the first accelerator that initialises and passes the
 * self-check, else the CPU, saying why; an explicit device that fails is an error, never a silent fallback.
 * Every session the engine makes (decoder, self-check) takes its providers from `sessionProviders`.
 */
import { spawn } from 'node:child_process';
import type * as Ort from 'onnxruntime-node';
import { loadOnnxRuntime } from './runtime';
import { selfCheckProblem, selfCheckError, SELF_CHECK_TOLERANCE } from './selfCheckProblem';
import type { Device, DeviceChoice } from './deviceChoice';

/** Our device name → onnxruntime-node's execution provider name (as `executionProviders` and listSupportedBackends spell it). */
export const EXECUTION_PROVIDERS: Record<Device, string> = { cpu: 'cpu', webgpu: 'webgpu', cuda: 'cuda', dml: 'dml', coreml: 'coreml' };

/**
 * `auto`'s order: the platform-native providers first (CUDA on NVIDIA Linux when its binaries are installed,
 * DirectML on Windows, CoreML on macOS), then WebGPU, which every desktop build bundles but which is experimental.
 */
export const AUTO_ORDER: readonly Device[] = ['cuda', 'dml', 'coreml', 'webgpu'];

/** One entry of `listSupportedBackends()`. */
export interface Backend {
  name: string;
  /** False when the npm package does not ship its binaries (CUDA and TensorRT on linux-x64: fetched at install). */
  bundled: boolean;
}

export interface ResolvedDevice {
  device: Device;
  /** Why this device: the explicit choice, or what `auto` tried and why each accelerator was not kept. */
  reason: string;
}

/** What resolution needs, injectable so tests use a fake provider list and a fake check (no GPU needed). */
export interface DeviceProbe {
  backends(): Backend[];
  /** Initialises the device and runs the engine's self-check on a tiny graph there; throws when either fails. */
  check(device: Device): Promise<void>;
}

/** How to get onnxruntime-node's CUDA 12 binaries (not in the npm package; its install script fetches them from NuGet). */
export const CUDA_INSTALL_HINT =
  "onnxruntime-node's npm package does not ship the CUDA binaries: with network access run `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` " +
  "(the environment variable overrides this project's .npmrc `onnxruntime-node-install=skip`; needs NVIDIA CUDA 12 and cuDNN 9 installed); for the installed extension, " +
  'copy the libonnxruntime_providers_*.so it fetches into the extension\'s node_modules/onnxruntime-node/bin/napi-v6/linux/x64; or choose webgpu or cpu';

/** The same, short, for auto's reasons (the log line and the engine card). */
export const CUDA_INSTALL_HINT_SHORT = 'CUDA binaries not installed? `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (see README, GPU)';

export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceError';
  }
}

/** The first line of an error, without onnxruntime's source location and failed assertion ("…/webgpu_context.cc:136 … was false. "). */
const firstLine = (err: unknown) =>
  ((err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).find((l) => l) ?? 'unknown error').replace(/^\/\S+:\d+ .*? was false\. /, '');

/** Why an offered device failed, with what to do for a provider whose binaries are fetched separately. */
function failureOf(device: Device, backend: Backend | undefined, err: unknown, hint = CUDA_INSTALL_HINT): string {
  const why = `${device} did not initialise or failed the self-check (${firstLine(err)})`;
  return device === 'cuda' && backend && !backend.bundled ? `${why}; ${hint}` : why;
}

function notOffered(device: Device, backends: Backend[]): string {
  const offered = backends.map((b) => `${b.name}${b.bundled ? '' : ' (not bundled)'}`).join(', ');
  return `${device} is not in this platform's onnxruntime-node build (${process.platform}-${process.arch} offers ${offered || 'nothing'})${device === 'cuda' ? `; CUDA builds exist for linux-x64 only (${CUDA_INSTALL_HINT})` : ''}`;
}

/**
 * The device a choice runs on. `auto`: each accelerator of AUTO_ORDER that the build lists, in turn; the first that
 * initialises and passes the self-check, else cpu with every reason. An explicit accelerator is checked the same way
 * and throws a DeviceError naming it and what to do when it fails. `cpu` is never probed (it is what always ran).
 */
export async function resolveDevice(choice: DeviceChoice, probe: DeviceProbe = onnxRuntimeProbe()): Promise<ResolvedDevice> {
  if (choice === 'cpu') return { device: 'cpu', reason: 'cpu chosen' };
  const backends = probe.backends();
  const backendOf = (device: Device) => backends.find((b) => b.name === EXECUTION_PROVIDERS[device]);
  if (choice !== 'auto') {
    const backend = backendOf(choice);
    if (!backend) throw new DeviceError(`Device ${choice}: ${notOffered(choice, backends)}. Set personaLens.engine.device (or --device) to auto or cpu.`);
    try {
      await probe.check(choice);
    } catch (err) {
      throw new DeviceError(`Device ${choice}: ${failureOf(choice, backend, err)}. Set personaLens.engine.device (or --device) to auto or cpu, or fix the driver.`);
    }
    return { device: choice, reason: `${choice} chosen; initialised and passed the self-check` };
  }
  const skipped: string[] = [];
  for (const device of AUTO_ORDER) {
    const backend = backendOf(device);
    if (!backend) continue;
    try {
      await probe.check(device);
      return { device, reason: `auto: ${[...skipped, `${device} initialised and passed the self-check`].join('; ')}` };
    } catch (err) {
      skipped.push(failureOf(device, backend, err, CUDA_INSTALL_HINT_SHORT));
    }
  }
  return { device: 'cpu', reason: `auto: ${skipped.length ? skipped.join('; ') : `no accelerator in this build (${backends.map((b) => b.name).join(', ') || 'none listed'})`}; running on cpu` };
}

/**
 * Session options that put a session on a device. Nodes the provider has no kernel for run on the CPU provider,
 * which onnxruntime always appends; that per-node fallback is silent. Where to check it (not yet run on a GPU):
 * create the session with `logSeverityLevel: 0` (verbose) and read onnxruntime's "Node placements" lines, or
 * `enableProfiling` and count events whose `args.provider` is CPUExecutionProvider inside the layer loop.
 */
export function sessionProviders(device: Device): Pick<Ort.InferenceSession.SessionOptions, 'executionProviders'> {
  return { executionProviders: [EXECUTION_PROVIDERS[device]] };
}

/**
 * The real probe: onnxruntime-node's list, and the self-check graph run on the device in a child Node process.
 * A child, because a provider that cannot start writes its own warnings straight to stderr (Dawn's Vulkan loader)
 * and a broken GPU driver may crash its process; the engine and the CLI stay clean and alive either way. The
 * result is compared with the reference here. An explicit device's sessions are then made in-process as usual.
 */
export function onnxRuntimeProbe(): DeviceProbe {
  return {
    backends: () => loadOnnxRuntime().listSupportedBackends().map(({ name, bundled }) => ({ name, bundled })),
    check: (device) => checkInChildProcess(device),
  };
}

const PROBE_TIMEOUT_MS = 120_000;

/** Runs in the child: argv = [onnxruntime-node path, provider]; stdin = JSON {model, input, rows, n, output}. */
const PROBE_SCRIPT = `
const ort = require(process.argv[1]);
let text = '';
process.stdin.on('data', (c) => (text += c));
process.stdin.on('end', async () => {
  try {
    const p = JSON.parse(text);
    const session = await ort.InferenceSession.create(Buffer.from(p.model, 'base64'), { executionProviders: [process.argv[2]] });
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(p.input), [p.rows, p.n]) });
    process.stdout.write(JSON.stringify({ y: Array.from(out[p.output].data) }));
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err && err.message || err) }));
  }
});`;

/** What a probe process said: its output, how it ended, and why its input could not be written (it died first). */
export interface ProbeProcessResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  inputError?: string;
}

/** Runs `node ARGS` with `input` on its stdin; a child that dies early (EPIPE on its stdin) is a result, not a throw. */
export async function runProbeProcess(args: string[], input: string): Promise<ProbeProcessResult> {
  // In the engine, execPath is VS Code's Electron; ELECTRON_RUN_AS_NODE makes it plain Node (as the engine's own fork).
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    timeout: PROBE_TIMEOUT_MS,
  });
  let stdout = '';
  let stderr = '';
  let inputError: string | undefined;
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  // Without a listener, a write to a child that already died would be an uncaught exception in the engine or CLI.
  child.stdin.on('error', (err: NodeJS.ErrnoException) => (inputError ??= err.code ?? err.message));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  child.stdin.end(input);
  const { code, signal } = await exit;
  return { stdout, stderr, code, signal, ...(inputError !== undefined ? { inputError } : {}) };
}

async function checkInChildProcess(device: Device): Promise<void> {
  const problem = selfCheckProblem(32, 2, 4);
  const request = JSON.stringify({ model: Buffer.from(problem.model).toString('base64'), input: Array.from(problem.input), rows: problem.rows, n: problem.n, output: problem.output });
  const { stdout, stderr, code, signal, inputError } = await runProbeProcess(['-e', PROBE_SCRIPT, require.resolve('onnxruntime-node'), EXECUTION_PROVIDERS[device]], request);
  let reply: { y?: number[]; error?: string } | undefined;
  try {
    reply = JSON.parse(stdout);
  } catch {
    reply = undefined;
  }
  if (reply?.error) throw new Error(reply.error);
  if (!reply?.y) throw new Error(probeFailure({ stderr, code, signal, inputError }));
  const error = selfCheckError(reply.y, problem.expected);
  if (!(error <= SELF_CHECK_TOLERANCE)) throw new Error(`self-check result differs from the reference by ${error} (tolerance ${SELF_CHECK_TOLERANCE})`);
}

/** Why a probe process gave no result, in one line. */
export function probeFailure({ stderr, code, signal, inputError }: Omit<ProbeProcessResult, 'stdout'>): string {
  const ended = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
  const input = inputError ? ` before reading its input (${inputError})` : '';
  return `the probe process ${ended}${input}${stderr.trim() ? `: ${firstLine(stderr)}` : ''}`;
}

const resolved = new Map<DeviceChoice, Promise<ResolvedDevice>>();

/**
 * A choice resolved once per process (probing a GPU adapter costs a second; the answer does not change while the
 * process lives). A failed explicit choice is not kept, so a fixed driver is seen on the next try.
 */
export function resolveDeviceOnce(choice: DeviceChoice): Promise<ResolvedDevice> {
  let entry = resolved.get(choice);
  if (!entry) {
    entry = resolveDevice(choice);
    resolved.set(choice, entry);
    entry.catch(() => resolved.delete(choice));
  }
  return entry;
}
