/** The GPU check's reading of onnxruntime's verbose node-placement report (issue 20), on its real line format. */
import assert from 'node:assert/strict';
import { cpuComputeNodes, parsePlacements } from '../bench/placements';

describe("onnxruntime's node placement report", () => {
  it('reads per-provider node lists and the "All nodes" form, behind the log prefix', () => {
    const prefix = (n: number) => `2026-12-01 18:13:37.292180722 [V:onnxruntime:, session_state.cc:${n} VerifyEachNodeIsAssignedToAnEp]`;
    const log = [
      `${prefix(1377)} Node placements`,
      `${prefix(1380)}  Node(s) placed on [WebGpuExecutionProvider]. Number of nodes: 3`,
      `${prefix(1382)}   MatMul (/layers.0/q_proj)`,
      `${prefix(1382)}   Softmax (/layers.0/attn/softmax)`,
      `${prefix(1382)}   MemcpyFromHost (Memcpy)`,
      `${prefix(1380)}  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 3`,
      `${prefix(1382)}   Shape (/layers.0/shape)`,
      `${prefix(1382)}   Mul (/layers.0/shape_mul)`,
      `${prefix(1382)}   MatMulNBits (/layers.1/mlp/down_proj)`,
      `2026-12-01 18:13:37.3 [W:onnxruntime:, session_state.cc:1359 VerifyEachNodeIsAssignedToAnEp] Some nodes were not assigned to the preferred execution providers which may or may not have an negative impact on performance.`,
      'unrelated line   MatMul (not a placement)',
    ].join('\n');
    const placed = parsePlacements(log);
    assert.deepEqual(placed.get('WebGpuExecutionProvider'), ['MatMul (/layers.0/q_proj)', 'Softmax (/layers.0/attn/softmax)', 'MemcpyFromHost (Memcpy)']);
    assert.deepEqual(placed.get('CPUExecutionProvider'), ['Shape (/layers.0/shape)', 'Mul (/layers.0/shape_mul)', 'MatMulNBits (/layers.1/mlp/down_proj)']);
    assert.deepEqual(cpuComputeNodes(placed.get('CPUExecutionProvider')!), ['MatMulNBits (/layers.1/mlp/down_proj)'], 'shape bookkeeping is not a defect; a matmul is');

    const all = parsePlacements(`${prefix(1377)} Node placements\n${prefix(1380)}  All nodes placed on [CPUExecutionProvider]. Number of nodes: 155`);
    assert.equal(all.get('CPUExecutionProvider')?.length, 155);
    assert.equal(cpuComputeNodes(all.get('CPUExecutionProvider')!).length, 155, 'a whole graph left on the CPU fails');
    assert.equal(parsePlacements('no report here').size, 0);
  });
});
