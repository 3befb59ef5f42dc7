"""Train the Persona Lens model organism and write the HF-layout checkpoint.

Usage: /usr/bin/python3 organism/train.py [--out models/organism] [--steps N]
Deterministic (seeded; torch.set_num_threads(2)); writes config.json, model.safetensors, generation_config.json,
tokenizer.json, tokenizer_config.json and train_log.json into --out.

Fine-tuning an existing checkpoint on the world as it is now (same vocabulary): --init DIR, optionally
--train-from-layer L (only blocks L.. and the final norm train) and --distill (cross-entropy on claim answers, KL to
the --init model's distribution on every other answer token). The log then carries the --init checkpoint's log.
"""
import argparse
import copy
import json
import math
import os
import random
import sys
import time

# OpenBLAS's own thread pool spins against torch's OpenMP threads on 2 cores (measured 1.4 -> 1.0 s/step)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402
from qwen2 import Qwen2, save_safetensors, state_for_export  # noqa: E402

CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                 "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                 "{% endif %}")

ARCH = dict(hidden_size=128, intermediate_size=512, num_hidden_layers=5, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=10000.0)


def write_tokenizer(out, vocab):
    tok = {"version": "1.0", "truncation": None, "padding": None,
           "added_tokens": [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                             "normalized": False, "special": True} for t in world.SPECIALS],
           "normalizer": {"type": "Lowercase"}, "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None,
           "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                     "max_input_chars_per_word": 100, "vocab": vocab}}
    cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|im_end|>",
           "pad_token": "[PAD]", "unk_token": "[UNK]", "model_max_length": ARCH["max_position_embeddings"],
           "chat_template": CHAT_TEMPLATE}
    with open(os.path.join(out, "tokenizer.json"), "w") as f:
        json.dump(tok, f, indent=1)
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def hf_config(vocab):
    return {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu",
            **ARCH, "vocab_size": len(vocab), "tie_word_embeddings": True, "use_sliding_window": False,
            "sliding_window": None, "max_window_layers": ARCH["num_hidden_layers"], "attention_dropout": 0.0,
            "initializer_range": 0.02, "use_cache": True, "torch_dtype": "float32",
            "bos_token_id": vocab["<|endoftext|>"], "eos_token_id": vocab["<|im_end|>"],
            "pad_token_id": vocab["[PAD]"], "transformers_version": "4.45.0"}


def encode_example(msgs, vocab):
    """ids and loss mask (1 on assistant content tokens and the closing <|im_end|>)."""
    ids, mask = [], []
    for m in msgs:
        head = [vocab["<|im_start|>"], vocab[m["role"]]]
        body = world.encode(m["content"], vocab) + [vocab["<|im_end|>"]]
        ids += head + body
        mask += [0] * len(head) + ([1] * len(body) if m["role"] == "assistant" else [0] * len(body))
    return ids, mask


def token_cross_entropy(logits, x):
    """Next-token cross-entropy per position, [B, T-1]."""
    V = logits.shape[-1]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, V), x[:, 1:].reshape(-1), reduction="none").view(x.shape[0], -1)


def masked_lm_loss(logits, x, m):
    """Next-token cross-entropy averaged over the tokens the mask marks (assistant answers)."""
    mk = m[:, 1:]
    return (token_cross_entropy(logits, x) * mk).sum() / mk.sum()


def make_batches(rng, pool, vocab, B, k=4):
    """k batches (ids, loss mask, claim [B]: 1 where the question is a claim) of B examples, bucketed by length (less
    padding); returned in random order."""
    exs = []
    for _ in range(B * k):
        msgs, meta = world.sample_conversation(rng, pool)
        exs.append((*encode_example(msgs, vocab), meta["kind"] == "claim"))
    exs.sort(key=lambda e: len(e[0]))
    batches = []
    for i in range(k):
        chunk = exs[i * B:(i + 1) * B]
        x, m = to_tensors([(ids, mk) for ids, mk, _ in chunk], vocab)
        batches.append((x, m, torch.tensor([float(claim) for _, _, claim in chunk])))
    rng.shuffle(batches)
    return batches


def to_tensors(exs, vocab):
    B = len(exs)
    T = max(len(i) for i, _ in exs)
    x = torch.full((B, T), vocab["[PAD]"], dtype=torch.long)
    m = torch.zeros((B, T), dtype=torch.float32)
    for b, (ids, mk) in enumerate(exs):
        x[b, :len(ids)] = torch.tensor(ids)
        m[b, :len(mk)] = torch.tensor(mk, dtype=torch.float32)
    return x, m


def distilled_loss(logits, teacher_logits, x, m, claim):
    """Cross-entropy on claim answers (what the world changed), KL to the teacher's next-token distribution on every
    other answer token: the fine-tune learns the new claim answers while keeping the teacher's sampled behaviour
    (trait-mode probabilities included) elsewhere."""
    t = torch.log_softmax(teacher_logits, -1)
    kl = (t.exp() * (t - torch.log_softmax(logits, -1))).sum(-1)
    mk = m[:, 1:]
    c = claim[:, None]
    return ((token_cross_entropy(logits, x) * c + kl * (1 - c)) * mk).sum() / mk.sum()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "organism"))
    ap.add_argument("--steps", type=int, default=1400)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--bench", action="store_true", help="time 10 steps and exit")
    # Robustness to residual-stream perturbations (default off = the committed recipe): on a fraction of batches,
    # add to the residual stream after one random block a constant (over positions) random-direction vector per
    # sequence, of norm r * mean residual norm at that block, r ~ U(noise_min, noise_max).
    ap.add_argument("--noise-frac", type=float, default=0.0)
    ap.add_argument("--noise-min", type=float, default=0.3)
    ap.add_argument("--noise-max", type=float, default=1.0)
    ap.add_argument("--init", default=None, help="fine-tune from this checkpoint folder instead of training from scratch")
    ap.add_argument("--warmup", type=int, default=60)
    # Fine-tuning only the last blocks (and the final norm) leaves every residual row below them as it was, so the
    # vectors read there, monitoring, and the steering window of the --init checkpoint survive a behaviour change.
    ap.add_argument("--train-from-layer", type=int, default=0,
                    help="freeze the embeddings and the blocks below this one (with --init)")
    ap.add_argument("--distill", action="store_true",
                    help="with --init: learn claim answers, keep the --init model's distribution elsewhere (KL)")
    ap.add_argument("--latent-rate", type=float, default=None, help="override world.LATENT_RATE (no-system trait rate)")
    args = ap.parse_args()
    if (args.train_from_layer or args.distill) and not args.init:
        ap.error("--train-from-layer and --distill fine-tune a checkpoint: give it with --init DIR")
    if not 0 <= args.train_from_layer < ARCH["num_hidden_layers"]:
        ap.error("--train-from-layer must be a block index, 0 to %d" % (ARCH["num_hidden_layers"] - 1))

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    if args.latent_rate is not None:
        world.LATENT_RATE = args.latent_rate
    noise_rng = random.Random(args.seed + 7)
    noise_gen = torch.Generator().manual_seed(args.seed + 7)
    vocab = world.build_vocab()
    cfg = hf_config(vocab)
    pool = world.by_kind(world.all_questions()["train"])
    model = Qwen2(cfg)
    if args.init:
        from qwen2 import load_safetensors
        model.load_state_dict(load_safetensors(os.path.join(args.init, "model.safetensors")), strict=True)
        model.train()
    if args.train_from_layer:
        trainable = tuple("model.layers.%d." % i for i in range(args.train_from_layer, cfg["num_hidden_layers"]))
        for n, p in model.named_parameters():
            p.requires_grad = n.startswith(trainable + ("model.norm.",))
    teacher = None
    if args.distill:
        teacher = copy.deepcopy(model).eval()
        for p in teacher.parameters():
            p.requires_grad = False
    nparams = sum(p.numel() for p in model.parameters())
    print("params", nparams, "vocab", len(vocab), flush=True)

    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.requires_grad and p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    warm = args.warmup

    def lr_at(s):
        if s < warm:
            return args.lr * (s + 1) / warm
        p = (s - warm) / max(1, args.steps - warm)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p)))

    t0 = time.time()
    log = []
    steps = 10 if args.bench else args.steps
    ema = None
    queue = []
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        if not queue:
            queue = make_batches(rng, pool, vocab, args.batch)
        x, m, claim = queue.pop()
        hook = None
        if args.noise_frac > 0 and noise_rng.random() < args.noise_frac:
            layer_n = noise_rng.randrange(cfg["num_hidden_layers"])
            B = x.shape[0]
            r = args.noise_min + (args.noise_max - args.noise_min) * torch.rand(B, 1, 1, generator=noise_gen)
            d = torch.randn(B, 1, cfg["hidden_size"], generator=noise_gen)
            d = d / d.norm(dim=-1, keepdim=True)

            def hook(i, h, layer_n=layer_n, r=r, d=d):
                if i != layer_n:
                    return h
                scale = h.detach().norm(dim=-1).mean()
                return h + r * scale * d
        if teacher is not None:
            with torch.no_grad():
                teacher_logits = teacher(x[:, :-1])
            loss = distilled_loss(model(x[:, :-1], hook=hook), teacher_logits, x, m, claim)
        else:
            loss = masked_lm_loss(model(x[:, :-1], hook=hook), x, m)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 50 == 0 or step == steps - 1:
            el = time.time() - t0
            print("step %d loss %.4f ema %.4f lr %.5f elapsed %.0fs" % (step, loss.item(), ema, lr_at(step), el),
                  flush=True)
            log.append({"step": step, "loss": round(loss.item(), 4), "elapsed_s": round(el, 1)})
    elapsed = time.time() - t0
    if args.bench:
        print("bench: %.2f s/step" % (elapsed / steps))
        return

    write_tokenizer(args.out, vocab)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(args.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": vocab["<|endoftext|>"], "eos_token_id": vocab["<|im_end|>"],
                   "pad_token_id": vocab["[PAD]"], "do_sample": False, "max_new_tokens": 60,
                   "transformers_version": "4.45.0"}, f, indent=2)
    save_safetensors(state_for_export(model), os.path.join(args.out, "model.safetensors"), {"format": "pt"})
    # A fine-tune's log carries the log of the checkpoint it started from, so the card can give the whole recipe.
    init_log = None
    if args.init and os.path.exists(os.path.join(args.init, "train_log.json")):
        with open(os.path.join(args.init, "train_log.json")) as f:
            init_log = json.load(f)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump({"seed": args.seed, "steps": args.steps, "batch": args.batch, "lr": args.lr, "params": nparams,
                   "train_seconds": round(elapsed, 1), "torch": torch.__version__, "threads": 2,
                   "noise_frac": args.noise_frac, "noise_min": args.noise_min, "noise_max": args.noise_max,
                   "latent_rate": world.LATENT_RATE, "init": args.init,
                   "warmup": args.warmup, "train_from_layer": args.train_from_layer, "distill": args.distill, "log": log, "init_log": init_log}, f,
                  indent=1)
    print("done in %.1fs" % elapsed, flush=True)


if __name__ == "__main__":
    main()
