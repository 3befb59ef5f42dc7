/**
 * onnxruntime's verbose "Node placements" report (session_state.cc, VerifyEachNodeIsAssignedToAnEp), each line behind
 * its log prefix: " All nodes placed on [P]. Number of nodes: N", or per provider " Node(s) placed on [P]. Number of
 * nodes: N" followed by "   OpType (node name)" lines. Used by scripts/gpu-check.ts to find layer-loop compute that
 * a GPU provider left on the CPU.
 */
const TAG = 'VerifyEachNodeIsAssignedToAnEp]';

/** Provider → "OpType (name)" per node ("All nodes" gives N entries "all nodes"). Empty when the log has no report. */
export function parsePlacements(log: string): Map<string, string[]> {
  const placed = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of log.split('\n')) {
    const at = line.indexOf(TAG);
    if (at < 0) continue;
    const text = line.slice(at + TAG.length);
    const header = /(All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(text);
    if (header) {
      current = header[2];
      placed.set(current, header[1] === 'All nodes' ? Array.from({ length: Number(header[3]) }, () => 'all nodes') : []);
      continue;
    }
    const node = /^\s+(\S+ \(.*\))\s*$/.exec(text);
    if (node && current) placed.get(current)!.push(node[1]);
  }
  return placed;
}

/**
 * The CPU-placed nodes that are the decoder's compute (a defect on a GPU provider). Integer shape arithmetic that
 * onnxruntime keeps on the CPU by its cost rule (Shape, Gather, Concat, Unsqueeze, and Add / Mul on int64 shapes)
 * is not counted: the report does not give dtypes, so element-wise ops are listed by the caller, not failed.
 */
export function cpuComputeNodes(cpuNodes: string[]): string[] {
  return cpuNodes.filter((n) => n === 'all nodes' || /^(MatMul|MatMulNBits|Gemm|Softmax|ReduceMean|ReduceSum|Pow|Sqrt|RMSNormalization|Tanh|Exp|Sigmoid|Erf|Einsum|SimplifiedLayerNormalization|SkipSimplifiedLayerNormalization|GroupQueryAttention|RotaryEmbedding) \(/.test(n));
}
