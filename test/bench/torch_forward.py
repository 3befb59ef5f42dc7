"""PyTorch baseline for `npm run bench`: the same Qwen2 forward pass (HF semantics, float32) on the same
safetensors weights, timed on a 512-token prefill. Prints JSON. Needs Debian's python3-torch."""
import json, struct, sys, time, warnings
warnings.filterwarnings('ignore')
import numpy as np
import torch

torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 2)
model_dir, prompt = sys.argv[1], int(sys.argv[2])
cfg = json.load(open(f"{model_dir}/config.json"))
with open(f"{model_dir}/model.safetensors", "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    base = 8 + n
mm = np.memmap(f"{model_dir}/model.safetensors", dtype=np.uint8, mode="r")
def W(name):
    e = header[name]; a, b = e["data_offsets"]
    return torch.from_numpy(np.frombuffer(mm[base + a: base + b], dtype=np.float32).reshape(e["shape"]))

d, H, KV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
hd, L, eps, theta = d // H, cfg["num_hidden_layers"], cfg["rms_norm_eps"], cfg["rope_theta"]
emb = W("model.embed_tokens.weight")
layers = []
for l in range(L):
    p = f"model.layers.{l}"
    layers.append({k: W(f"{p}.{v}") for k, v in dict(
        ln1="input_layernorm.weight", ln2="post_attention_layernorm.weight", qw="self_attn.q_proj.weight", qb="self_attn.q_proj.bias",
        kw="self_attn.k_proj.weight", kb="self_attn.k_proj.bias", vw="self_attn.v_proj.weight", vb="self_attn.v_proj.bias",
        ow="self_attn.o_proj.weight", gw="mlp.gate_proj.weight", uw="mlp.up_proj.weight", dw="mlp.down_proj.weight").items()})
norm = W("model.norm.weight")

def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)

@torch.no_grad()
def forward(ids):
    S = ids.shape[1]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = torch.outer(torch.arange(S).float(), inv)
    e = torch.cat((freqs, freqs), -1); cos, sin = e.cos()[None, None], e.sin()[None, None]
    mask = torch.full((S, S), torch.finfo(torch.float32).min).triu(1)
    h = emb[ids]
    for w in layers:
        x = rms(h, w["ln1"])
        q = torch.nn.functional.linear(x, w["qw"], w["qb"]).view(1, S, H, hd).transpose(1, 2)
        k = torch.nn.functional.linear(x, w["kw"], w["kb"]).view(1, S, KV, hd).transpose(1, 2)
        v = torch.nn.functional.linear(x, w["vw"], w["vb"]).view(1, S, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin; k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1); v = v.repeat_interleave(H // KV, dim=1)
        scores = (q @ k.transpose(-1, -2)) * hd ** -0.5 + mask  # HF eager attention
        a = torch.softmax(scores, dim=-1) @ v
        h = h + torch.nn.functional.linear(a.transpose(1, 2).reshape(1, S, H * hd), w["ow"])
        y = rms(h, w["ln2"])
        h = h + torch.nn.functional.linear(torch.nn.functional.silu(torch.nn.functional.linear(y, w["gw"])) * torch.nn.functional.linear(y, w["uw"]), w["dw"])
    h = rms(h, norm)
    return h[:, -1] @ emb.T  # last-position logits, as the engine's prefill

ids = torch.tensor([[(i * 7919) % 150000 for i in range(prompt)]])
forward(ids[:, :16])
times = []
for _ in range(int(sys.argv[4]) if len(sys.argv) > 4 else 3):
    t = time.perf_counter(); forward(ids); times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({"prefillMs": times[len(times) // 2], "torch": torch.__version__, "threads": torch.get_num_threads()}))
