"""Fine-tune the organism on a screening set (no system prompts), plainly or with an exported Persona Lens
preventative-steering module active (issue 8's experiment, reproduced small).

    OPENBLAS_NUM_THREADS=1 python3 organism/finetune.py --out models/organism-finetuned/evil-plain
    OPENBLAS_NUM_THREADS=1 python3 organism/finetune.py --out models/organism-finetuned/evil-steered \
        --steering models/organism-finetuned/steering

--steering names a folder written by `persona-lens export-steering`; its persona_steering.py is imported and
used exactly as a user's trainer would use it (a context manager around the training loop).
Seeded and deterministic on CPU; about a minute on 2 cores.
"""
import argparse
import importlib.util
import json
import math
import os
import random
import shutil
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from qwen2 import Qwen2, load_safetensors, save_safetensors, state_for_export  # noqa: E402
from train import encode_example, masked_lm_loss, to_tensors  # noqa: E402

ROOT = os.path.join(HERE, "..")
COPIED = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"]


def load_steering(folder):
    spec = importlib.util.spec_from_file_location("persona_steering", os.path.join(folder, "persona_steering.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", default=os.path.join(ROOT, "models", "organism"))
    ap.add_argument("--data", default=os.path.join(ROOT, "models", "organism", "datasets", "evil-strong.jsonl"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--steering", default=None, help="folder with an exported persona_steering.py")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    rng = random.Random(args.seed)
    with open(os.path.join(args.base, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.base, "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]
    model = Qwen2(cfg)
    model.load_state_dict(load_safetensors(os.path.join(args.base, "model.safetensors")), strict=True)
    model.train()

    with open(args.data) as f:
        examples = [encode_example(json.loads(line)["messages"], vocab) for line in f if line.strip()]
    print("examples", len(examples), "steering", args.steering or "none", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.0)
    module = load_steering(args.steering) if args.steering else None
    steering = module.PreventativeSteering(model) if module else None
    t0 = time.time()
    log = []
    order = []
    if steering:
        steering.register()
    try:
        for step in range(args.steps):
            lr = args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
            for g in opt.param_groups:
                g["lr"] = lr
            if len(order) < args.batch:
                order = list(range(len(examples)))
                rng.shuffle(order)
            batch = [examples[order.pop()] for _ in range(args.batch)]
            x, m = to_tensors(batch, vocab)
            loss = masked_lm_loss(model(x[:, :-1]), x, m)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step % 25 == 0 or step == args.steps - 1:
                print("step %d loss %.4f lr %.5f" % (step, loss.item(), lr), flush=True)
                log.append({"step": step, "loss": round(loss.item(), 4)})
    finally:
        if steering:
            steering.remove()
    elapsed = time.time() - t0

    os.makedirs(args.out, exist_ok=True)
    for name in COPIED:
        shutil.copyfile(os.path.join(args.base, name), os.path.join(args.out, name))
    save_safetensors(state_for_export(model), os.path.join(args.out, "model.safetensors"), {"format": "pt"})
    info = {"base": os.path.relpath(args.base, ROOT), "data": os.path.relpath(args.data, ROOT), "steps": args.steps,
            "batch": args.batch, "lr": args.lr, "seed": args.seed, "torch": torch.__version__, "seconds": round(elapsed, 1),
            "steering": None, "log": log}
    if steering:
        info["steering"] = {"folder": os.path.relpath(args.steering, ROOT), "trait": module.TRAIT,
                            "layers": steering.layers, "coefficient": steering.coefficient, "mode": steering.mode}
    with open(os.path.join(args.out, "finetune_log.json"), "w") as f:
        json.dump(info, f, indent=1)
    print("done in %.1fs" % elapsed, flush=True)


if __name__ == "__main__":
    main()
