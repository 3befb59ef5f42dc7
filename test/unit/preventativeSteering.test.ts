/**
 * The exported preventative-steering module: written next to its vector, never over existing files, and — run
 * in real PyTorch against a tiny HF-style model — it adds α·v at the chosen decoder layer's output only while
 * training, ablates in CAFT mode, checks the hidden size, and leaves no hook behind.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MODULE_FILE, preventativeSteeringModule, writePreventativeSteering, type PreventativeSteeringExport } from '../../src/core/finetuning/preventativeSteering';
import { readSafetensorsHeader } from '../../src/core/model/safetensors';
import { requirePython, runPython } from '../helpers/python';

const ROWS = 4;
const D = 8;
const vector = Float32Array.from({ length: ROWS * D }, (_, i) => Math.sin(i + 1));
const spec = (over: Partial<PreventativeSteeringExport> = {}): PreventativeSteeringExport => ({ trait: 'evil', vector, rows: ROWS, d: D, layers: [2], coefficient: 3, mode: 'add', source: 'test', ...over });

/** A tiny HF-shaped model: model.model.layers[i] return tuples like transformers' decoder layers. */
const PY_CHECK = `
import json, sys, torch
sys.path.insert(0, sys.argv[1])
import persona_steering as ps

class Layer(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.lin = torch.nn.Linear(d, d)
    def forward(self, h):
        return (h + self.lin(h), None)

class Inner(torch.nn.Module):
    def __init__(self, d, n):
        super().__init__()
        self.layers = torch.nn.ModuleList([Layer(d) for _ in range(n)])
    def forward(self, h):
        outs = []
        for layer in self.layers:
            h = layer(h)[0]
            outs.append(h)
        return outs

class Config:
    hidden_size = ${D}

class Model(torch.nn.Module):
    def __init__(self, d=${D}, n=${ROWS - 1}):
        super().__init__()
        self.config = Config()
        self.model = Inner(d, n)
    def forward(self, h):
        return self.model(h)

torch.manual_seed(0)
m = Model()
x = torch.randn(2, 5, ${D})
v = ps.load_vector()
m.train()
plain = m(x)
res = {}
with ps.PreventativeSteering(m) as s:
    steered = m(x)
    # row 2 = output of decoder layer 1: that output moves by exactly coefficient * v[2]
    res["added"] = (steered[1] - plain[1] - ps.COEFFICIENT * v[2]).abs().max().item()
    res["earlier_unchanged"] = (steered[0] - plain[0]).abs().max().item()
    m.eval()
    res["eval_unchanged"] = (m(x)[1] - plain[1]).abs().max().item()
    m.train()
res["hooks_left"] = sum(len(l._forward_hooks) for l in m.model.layers)
res["after_exit"] = (m(x)[1] - plain[1]).abs().max().item()
with ps.PreventativeSteering(m, mode="ablate"):
    ablated = m(x)[1]
    u = v[2] / v[2].norm()
    res["ablated_component"] = (ablated @ u).abs().max().item()
class Wide(Config):
    hidden_size = ${D + 1}
m.config = Wide()
try:
    ps.PreventativeSteering(m)
    res["width_error"] = ""
except ValueError as e:
    res["width_error"] = str(e)
print(json.dumps(res))
`;

describe('preventative steering export (PyTorch module)', function () {
  this.timeout(120000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'persona-lens-prevent-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the module and the full [layers+1, d] vector beside it, with usage in the docstring', () => {
    const { modulePath, vectorPath } = writePreventativeSteering(dir, spec());
    assert.equal(path.basename(modulePath), MODULE_FILE);
    const header = readSafetensorsHeader(vectorPath);
    assert.deepEqual(header.tensors.get('persona_vector')?.shape, [ROWS, D]);
    const source = readFileSync(modulePath, 'utf8');
    assert.match(source, /LAYERS = \[2\]/);
    assert.match(source, /COEFFICIENT = 3\n/);
    assert.match(source, /with PreventativeSteering\(trainer\.model\)/);
    assert.match(source, /output of decoder layer 1 \(0-based/);
  });

  it('never replaces existing files unless asked', () => {
    writeFileSync(path.join(dir, MODULE_FILE), 'mine');
    assert.throws(() => writePreventativeSteering(dir, spec()), /already exists/);
    assert.equal(readFileSync(path.join(dir, MODULE_FILE), 'utf8'), 'mine');
    writePreventativeSteering(dir, spec(), true);
    assert.notEqual(readFileSync(path.join(dir, MODULE_FILE), 'utf8'), 'mine');
  });

  it('a hostile vector file cannot put code into the module: the trait name is checked, free text is neutralised', () => {
    assert.throws(() => writePreventativeSteering(dir, spec({ trait: 'evil"""\nimport os' })), /not a valid trait name/);
    const { modulePath } = writePreventativeSteering(dir, spec({ source: 'm"""\nprint("INJECTED")\n""" \\N' }));
    const source = readFileSync(modulePath, 'utf8');
    assert.ok(!source.includes('print("INJECTED")'));
    const clean = preventativeSteeringModule(spec(), 'v.safetensors');
    assert.equal(source.split('"""').length, clean.split('"""').length, 'no docstring is closed early');
  });

  it('refuses a zero direction at the steered layer', () => {
    assert.throws(() => writePreventativeSteering(dir, spec({ vector: new Float32Array(ROWS * D) })), /zero or not finite at layer 2/);
  });

  it('refuses row 0 (embeddings) and rows past the last layer', () => {
    assert.throws(() => writePreventativeSteering(dir, spec({ layers: [0] })), /1–3/);
    assert.throws(() => writePreventativeSteering(dir, spec({ layers: [4] })), /1–3/);
  });

  it('in PyTorch: adds α·v at the layer output only while training, ablates in CAFT mode, checks width, removes its hooks', function () {
    const python = requirePython(this);
    writePreventativeSteering(dir, spec());
    writeFileSync(path.join(dir, 'check.py'), PY_CHECK);
    const result = JSON.parse(runPython(python, [path.join(dir, 'check.py'), dir]).trim().split('\n').pop()!);
    assert.ok(result.added < 1e-5, `added ${result.added}`);
    assert.equal(result.earlier_unchanged, 0);
    assert.equal(result.eval_unchanged, 0);
    assert.equal(result.hooks_left, 0);
    assert.equal(result.after_exit, 0);
    assert.ok(result.ablated_component < 1e-5, `ablated ${result.ablated_component}`);
    assert.match(result.width_error, /width 8 but the model's hidden size is 9/);
  });
});
