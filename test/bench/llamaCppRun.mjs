// Runs in the node-llama-cpp peer folder (see llamaCppPeer.ts): argv = peerDir, model.gguf, token ids (JSON), threads.
// Prefill: the same token ids evaluated at once; decode: greedy tokens after a 32-token prompt. Prints JSON.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const [peerDir, modelPath, tokensJson, threadsArg] = process.argv.slice(2);
const { getLlama } = await import(pathToFileURL(path.join(peerDir, 'node_modules', 'node-llama-cpp', 'dist', 'index.js')).href);
const threads = Number(threadsArg);
const tokens = JSON.parse(tokensJson);
const llama = await getLlama({ gpu: false, build: 'never', maxThreads: threads, logLevel: 'error' });
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const context = await model.createContext({ contextSize: 2048, batchSize: 512, threads: { ideal: threads, min: threads }, sequences: 1 });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const prefill = [];
for (let r = 0; r < 4; r++) {
  const sequence = context.getSequence();
  const t = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(tokens);
  if (r > 0) prefill.push(performance.now() - t); // the first run warms up
  sequence.dispose();
}

const sequence = context.getSequence();
const steps = 32;
let count = 0;
let started = 0;
for await (const _token of sequence.evaluate(tokens.slice(0, 32), { temperature: 0 })) {
  // The first token comes from the prompt's prefill; time the steps after it.
  if (count === 0) started = performance.now();
  if (++count > steps) break;
}
const decodeMs = (performance.now() - started) / steps;
process.stdout.write(JSON.stringify({ prefillMs: median(prefill), decodeMs, threads }) + '\n');
await context.dispose();
await model.dispose();
