/**
 * Device resolution (issue 20) with a fake provider list and a fake self-check, so no GPU is needed: auto's order
 * and fallback with reasons, explicit devices that fail, the CUDA install hint; then the real probe's child process
 * on the CPU, and the real build's list.
 */
import assert from 'node:assert/strict';
import { AUTO_ORDER, CUDA_INSTALL_HINT_SHORT, DeviceError, onnxRuntimeProbe, probeFailure, resolveDevice, runProbeProcess, sessionProviders, type Backend, type DeviceProbe } from '../../src/core/onnx/devices';
import type { Device } from '../../src/core/onnx/deviceChoice';

/** A probe over a fake backend list whose check passes for `working` devices and throws for the others. */
function fakeProbe(backends: Backend[], working: Device[], failure = 'no adapter'): DeviceProbe & { checked: Device[]; listed: number } {
  const probe = {
    checked: [] as Device[],
    listed: 0,
    backends: () => {
      probe.listed++;
      return backends;
    },
    check: async (device: Device) => {
      probe.checked.push(device);
      if (!working.includes(device)) throw new Error(`${failure}\nsecond line is not shown`);
    },
  };
  return probe;
}

const LINUX: Backend[] = [
  { name: 'cpu', bundled: true },
  { name: 'webgpu', bundled: true },
  { name: 'cuda', bundled: false },
  { name: 'tensorrt', bundled: false },
];
const WINDOWS: Backend[] = [
  { name: 'cpu', bundled: true },
  { name: 'dml', bundled: true },
  { name: 'webgpu', bundled: true },
];

describe('device resolution (fake provider lists, no GPU)', () => {
  it('auto keeps the first accelerator in order that initialises and passes the self-check', async () => {
    const probe = fakeProbe(LINUX, ['cuda', 'webgpu']);
    assert.deepEqual(await resolveDevice('auto', probe), { device: 'cuda', reason: 'auto: cuda initialised and passed the self-check' });
    assert.deepEqual(probe.checked, ['cuda'], 'stops at the first that passes');
    assert.deepEqual(AUTO_ORDER, ['cuda', 'dml', 'coreml', 'webgpu']);
  });

  it('auto: a device that fails goes to the next, and the reason says why it was passed over', async () => {
    const probe = fakeProbe(WINDOWS, ['webgpu']);
    const resolved = await resolveDevice('auto', probe);
    assert.equal(resolved.device, 'webgpu');
    assert.deepEqual(probe.checked, ['dml', 'webgpu'], 'only the listed accelerators, in order');
    assert.equal(resolved.reason, 'auto: dml did not initialise or failed the self-check (no adapter); webgpu initialised and passed the self-check');
  });

  it('auto: when every accelerator fails, cpu with each reason (cuda with the install hint)', async () => {
    const probe = fakeProbe(LINUX, []);
    const resolved = await resolveDevice('auto', probe);
    assert.equal(resolved.device, 'cpu');
    assert.deepEqual(probe.checked, ['cuda', 'webgpu']);
    assert.equal(
      resolved.reason,
      `auto: cuda did not initialise or failed the self-check (no adapter); ${CUDA_INSTALL_HINT_SHORT}; webgpu did not initialise or failed the self-check (no adapter); running on cpu`,
    );
  });

  it('auto: a build with no accelerator runs on cpu and says so', async () => {
    const probe = fakeProbe([{ name: 'cpu', bundled: true }], []);
    assert.deepEqual(await resolveDevice('auto', probe), { device: 'cpu', reason: 'auto: no accelerator in this build (cpu); running on cpu' });
    assert.deepEqual(probe.checked, []);
  });

  it('cpu is never probed: the path that always ran stays as it was', async () => {
    const probe = fakeProbe(LINUX, []);
    assert.deepEqual(await resolveDevice('cpu', probe), { device: 'cpu', reason: 'cpu chosen' });
    assert.equal(probe.listed, 0);
    assert.deepEqual(probe.checked, []);
  });

  it('an explicit device that passes is used; one that fails is an error naming it and what to do, never cpu', async () => {
    assert.deepEqual(await resolveDevice('webgpu', fakeProbe(LINUX, ['webgpu'])), { device: 'webgpu', reason: 'webgpu chosen; initialised and passed the self-check' });
    await assert.rejects(resolveDevice('webgpu', fakeProbe(LINUX, [], 'Failed to get a WebGPU adapter')), (err: unknown) => {
      assert.ok(err instanceof DeviceError);
      assert.equal(err.message, 'Device webgpu: webgpu did not initialise or failed the self-check (Failed to get a WebGPU adapter). Set personaLens.engine.device (or --device) to auto or cpu, or fix the driver.');
      return true;
    });
  });

  it('an explicit device missing from the build says what the build offers', async () => {
    const probe = fakeProbe(LINUX, ['dml']);
    await assert.rejects(resolveDevice('dml', probe), (err: unknown) => {
      assert.ok(err instanceof DeviceError);
      assert.match(err.message, new RegExp(`^Device dml: dml is not in this platform's onnxruntime-node build \\(${process.platform}-${process.arch} offers cpu, webgpu, cuda \\(not bundled\\), tensorrt \\(not bundled\\)\\)\\. Set personaLens\\.engine\\.device \\(or --device\\) to auto or cpu\\.$`));
      return true;
    });
    assert.deepEqual(probe.checked, [], 'nothing to initialise');
  });

  it('cuda not bundled and failing: the message says how to get the CUDA binaries', async () => {
    await assert.rejects(resolveDevice('cuda', fakeProbe(LINUX, [], 'OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library')), (err: unknown) => {
      assert.ok(err instanceof DeviceError);
      assert.ok(err.message.startsWith('Device cuda: cuda did not initialise or failed the self-check (OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library); '), err.message);
      assert.ok(err.message.includes('`ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`'), err.message);
      assert.ok(err.message.includes('onnxruntime-node-install=skip'), 'names the .npmrc line it overrides');
      return true;
    });
    // Installed (the check passes): used, although the npm list still calls it not bundled.
    assert.equal((await resolveDevice('cuda', fakeProbe(LINUX, ['cuda']))).device, 'cuda');
  });

  it('cuda on a build without it (macOS, Windows) names the platforms that have it and the hint', async () => {
    await assert.rejects(resolveDevice('cuda', fakeProbe(WINDOWS, [])), /^DeviceError: Device cuda: cuda is not in this platform's onnxruntime-node build .*; CUDA builds exist for linux-x64 only \(onnxruntime-node's npm package does not ship the CUDA binaries: with network access run `ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it('onnxruntime source locations and failed assertions are cut from the reason', async () => {
    const probe = fakeProbe(LINUX, [], '/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters');
    await assert.rejects(resolveDevice('webgpu', probe), /\(Failed to get a WebGPU adapter: No supported adapters\)\. Set/);
  });

  it('sessions are created with the chosen execution provider', () => {
    assert.deepEqual(sessionProviders('cpu'), { executionProviders: ['cpu'] });
    assert.deepEqual(sessionProviders('webgpu'), { executionProviders: ['webgpu'] });
    assert.deepEqual(sessionProviders('cuda'), { executionProviders: ['cuda'] });
    assert.deepEqual(sessionProviders('dml'), { executionProviders: ['dml'] });
    assert.deepEqual(sessionProviders('coreml'), { executionProviders: ['coreml'] });
  });
});

describe('the real probe (onnxruntime-node of this machine)', function () {
  this.timeout(120000);

  it("lists this build's providers with cpu bundled", () => {
    const backends = onnxRuntimeProbe().backends();
    assert.ok(backends.some((b) => b.name === 'cpu' && b.bundled), JSON.stringify(backends));
  });

  it('runs the self-check graph in a child process and checks it against the reference (on cpu)', async () => {
    await onnxRuntimeProbe().check('cpu');
  });

  it('an execution provider the build lacks fails the check in the child with its message', async () => {
    // dml / coreml are absent from the linux build, so this fails on every platform but one; pick the absent one.
    const absent = (['dml', 'coreml'] as const).find((d) => !onnxRuntimeProbe().backends().some((b) => b.name === d))!;
    await assert.rejects(onnxRuntimeProbe().check(absent), new RegExp(`backend not found|${absent}`));
  });

  it('a probe process that dies before reading its input is a failed probe with the reason, not an uncaught EPIPE', async () => {
    // More than a pipe buffer holds, so the write is still pending when the child exits.
    const result = await runProbeProcess(['-e', 'process.stderr.write("driver crashed\\n"); process.exit(3)'], 'x'.repeat(8 << 20));
    assert.equal(result.code, 3);
    assert.match(result.inputError ?? '', /^E[A-Z]+$/, 'the write error is kept');
    assert.match(probeFailure(result), /^the probe process exited with code 3 before reading its input \(E[A-Z]+\): driver crashed$/);
  });
});
