"""A minimal Qwen2 decoder with exactly HF transformers `Qwen2ForCausalLM` semantics, plus safetensors I/O.

Weight names match HF; Linear weights are [out, in]; lm_head is tied to model.embed_tokens.weight.
"""
import json
import math
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.to(torch.float32)
        var = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(var + self.eps)
        return self.weight * x.to(dt)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_cos_sin(T, hd, theta, device=None):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    pos = torch.arange(T, dtype=torch.float32)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.H, self.Hkv, self.hd = H, Hkv, d // H
        self.q_proj = nn.Linear(d, H * self.hd, bias=True)
        self.k_proj = nn.Linear(d, Hkv * self.hd, bias=True)
        self.v_proj = nn.Linear(d, Hkv * self.hd, bias=True)
        self.o_proj = nn.Linear(H * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.H, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.Hkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.Hkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.H // self.Hkv
        k = k.repeat_interleave(rep, dim=1)  # q head h uses kv head h // rep
        v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) * (self.hd ** -0.5) + mask
        att = torch.softmax(att.float(), dim=-1).to(q.dtype)
        y = (att @ v).transpose(1, 2).reshape(B, T, self.H * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, I = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, I, bias=False)
        self.up_proj = nn.Linear(d, I, bias=False)
        self.down_proj = nn.Linear(I, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Layer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class Qwen2(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        std = 0.02
        for n, p in self.named_parameters():
            if n.endswith("bias"):
                nn.init.zeros_(p)
            elif "norm" in n:
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, 0.0, std)
        # scale residual-branch outputs down (GPT-2 style) for stable training
        for layer in self.model.layers:
            nn.init.normal_(layer.self_attn.o_proj.weight, 0.0, std / math.sqrt(2 * len(self.model.layers)))
            nn.init.normal_(layer.mlp.down_proj.weight, 0.0, std / math.sqrt(2 * len(self.model.layers)))

    def forward(self, ids, hook=None, return_hidden=False):
        """ids [B,T]. hook(layer_index, h) -> h is applied to the residual stream after block i.
        Returns logits [B,T,V] (and the list of hidden states after each block if return_hidden)."""
        B, T = ids.shape
        hd = self.cfg["hidden_size"] // self.cfg["num_attention_heads"]
        cos, sin = rope_cos_sin(T, hd, self.cfg["rope_theta"])
        mask = torch.full((T, T), float("-inf")).triu(1)
        h = self.model.embed_tokens(ids)
        hidden = []
        for i, layer in enumerate(self.model.layers):
            h = layer(h, cos, sin, mask)
            if hook is not None:
                h = hook(i, h)
            hidden.append(h)
        logits = self.model.norm(h) @ self.model.embed_tokens.weight.t()
        return (logits, hidden) if return_hidden else logits


# ----------------------------------------------------------------------------------------------------------
# safetensors (hand-written; F32 only)
# ----------------------------------------------------------------------------------------------------------
def save_safetensors(tensors, path, metadata=None):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        b = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header["__metadata__"] = metadata
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    import numpy as np
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info["dtype"]
        s, e = info["data_offsets"]
        arr = np.frombuffer(data[base + s: base + e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def state_for_export(model):
    sd = model.state_dict()
    return {k: v for k, v in sd.items()}  # lm_head is tied: not stored (tie_word_embeddings = true)


def load_model(model_dir):
    with open(model_dir + "/config.json") as f:
        cfg = json.load(f)
    model = Qwen2(cfg)
    sd = load_safetensors(model_dir + "/model.safetensors")
    missing, unexpected = model.load_state_dict(sd, strict=True), None
    model.eval()
    return model, cfg


# ----------------------------------------------------------------------------------------------------------
# Incremental decoding with a KV cache and left padding (same math as the full forward; for evaluation)
# ----------------------------------------------------------------------------------------------------------
@torch.no_grad()
def forward_step(model, ids, pos, valid, cache, hook=None):
    """ids/pos [B,t] (new tokens and their position ids), valid [B, Tpast+t] key validity (False = left pad),
    cache: list per layer of (k, v) or None. Returns logits of the new positions and the updated cache."""
    cfg = model.cfg
    B, t = ids.shape
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg["hidden_size"] // H
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    freqs = pos.float()[..., None] * inv_freq  # [B,t,hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)[:, None]  # [B,1,t,hd]
    cos, sin = emb.cos(), emb.sin()
    Tp = 0 if cache[0] is None else cache[0][0].shape[2]
    Tt = Tp + t
    q_slot = torch.arange(Tp, Tt)[:, None]
    k_slot = torch.arange(Tt)[None, :]
    allowed = (k_slot <= q_slot)[None] & valid[:, None, :]  # [B,t,Tt]
    allowed = allowed | (k_slot == q_slot)[None]  # pads attend to themselves (avoids NaN rows)
    mask = torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))[:, None]  # [B,1,t,Tt]
    h = model.model.embed_tokens(ids)
    new_cache = []
    for i, layer in enumerate(model.model.layers):
        a = layer.self_attn
        x = layer.input_layernorm(h)
        q = a.q_proj(x).view(B, t, H, hd).transpose(1, 2)
        k = a.k_proj(x).view(B, t, Hkv, hd).transpose(1, 2)
        v = a.v_proj(x).view(B, t, Hkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache[i] is not None:
            k = torch.cat([cache[i][0], k], dim=2)
            v = torch.cat([cache[i][1], v], dim=2)
        new_cache.append((k, v))
        rep = H // Hkv
        kk, vv = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        att = torch.softmax((q @ kk.transpose(-1, -2)) * (hd ** -0.5) + mask, dim=-1)
        y = (att @ vv).transpose(1, 2).reshape(B, t, H * hd)
        h = h + a.o_proj(y)
        h = h + layer.mlp(layer.post_attention_layernorm(h))
        if hook is not None:
            h = hook(i, h)
    logits = model.model.norm(h) @ model.model.embed_tokens.weight.t()
    return logits, new_cache
