"""Evaluate the committed organism checkpoint (loaded back from models/organism/model.safetensors).

  1. Behaviour: greedy answers (max 60 new tokens, stop at <|im_end|>) to each trait's held-out evaluation
     questions under every eliciting / anti-eliciting system prompt, a neutral default prompt and no system
     prompt, scored with the lexicon judge (organism/judge.py reading models/organism/judge.json).
  2. Linear readability: per layer (residual stream after block L), mean response-token activations under
     eliciting vs anti-eliciting prompts; diff-of-means direction from the extraction questions, separation
     (Cohen's d, AUROC of the projection) measured on the held-out evaluation questions.
  3. Steering: add alpha * v_L (v_L = the diff-of-means vector, unnormalised) to the residual stream after block
     L at every position while greedy-generating with NO system prompt (+alpha) and under the eliciting prompts
     (-alpha); reports trait score, coherence and |alpha * v_L| / mean |h_L|.

Usage: /usr/bin/python3 organism/evaluate.py [--model models/organism] [--quick] [--json out.json]
"""
import argparse
import json
import os
import sys
import time

# OpenBLAS's own thread pool spins against torch's OpenMP threads on 2 cores (measured 1.4 -> 1.0 s/step)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import world  # noqa: E402
from judge import LexiconJudge  # noqa: E402
from qwen2 import forward_step, load_model  # noqa: E402


class Organism:
    def __init__(self, model_dir):
        self.model, self.cfg = load_model(model_dir)
        with open(os.path.join(model_dir, "tokenizer.json")) as f:
            self.vocab = json.load(f)["model"]["vocab"]
        self.inv = {i: w for w, i in self.vocab.items()}
        self.eos = self.vocab["<|im_end|>"]
        self.pad = self.vocab["[PAD]"]

    def prompt_ids(self, system, question):
        msgs = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": question}]
        return world.encode(world.chat_text(msgs, add_generation_prompt=True), self.vocab)

    def decode(self, ids):
        # same as the WordPiece decoder with cleanup: join with spaces (punctuation spacing kept as trained)
        return " ".join(self.inv[i] for i in ids)

    @torch.no_grad()
    def generate(self, prompts, max_new=60, hook=None):
        """Batched greedy decoding: left padding + position ids + KV cache (same math as one-by-one)."""
        B = len(prompts)
        T = max(len(p) for p in prompts)
        x = torch.full((B, T), self.pad, dtype=torch.long)
        valid = torch.zeros((B, T), dtype=torch.bool)
        for b, p in enumerate(prompts):
            x[b, T - len(p):] = torch.tensor(p)
            valid[b, T - len(p):] = True
        pos = (valid.long().cumsum(1) - 1).clamp(min=0)
        logits, cache = forward_step(self.model, x, pos, valid, [None] * len(self.model.model.layers), hook)
        last = logits[:, -1]
        nextpos = pos[:, -1] + 1
        done = [False] * B
        outs = [[] for _ in range(B)]
        for _ in range(max_new):
            nxt = torch.argmax(last, dim=-1)
            for b in range(B):
                if not done[b]:
                    if int(nxt[b]) == self.eos:
                        done[b] = True
                    else:
                        outs[b].append(int(nxt[b]))
            if all(done):
                break
            valid = torch.cat([valid, torch.ones((B, 1), dtype=torch.bool)], dim=1)
            logits, cache = forward_step(self.model, nxt[:, None], nextpos[:, None], valid, cache, hook)
            last = logits[:, -1]
            nextpos = nextpos + 1
        return [self.decode(o) for o in outs], outs

    @torch.no_grad()
    def generate_full(self, prompts, max_new=60, hook=None):
        """Reference: batched greedy decoding with right padding and full recompute (no cache)."""
        seqs = [list(p) for p in prompts]
        done = [False] * len(seqs)
        outs = [[] for _ in seqs]
        for _ in range(max_new):
            T = max(len(s) for s in seqs)
            x = torch.full((len(seqs), T), self.pad, dtype=torch.long)
            for b, s in enumerate(seqs):
                x[b, :len(s)] = torch.tensor(s)
            logits = self.model(x, hook=hook)
            for b, s in enumerate(seqs):
                if done[b]:
                    continue
                nxt = int(torch.argmax(logits[b, len(s) - 1]))
                if nxt == self.eos:
                    done[b] = True
                    continue
                s.append(nxt)
                outs[b].append(nxt)
            if all(done):
                break
        return [self.decode(o) for o in outs], outs

    @torch.no_grad()
    def response_means(self, prompts, responses):
        """Mean residual activation over response tokens, per layer: tensor [N, L, d]; and mean norms [L]."""
        res, norms = [], []
        for p, r in zip(prompts, responses):
            ids = list(p) + list(r) + [self.eos]
            _, hidden = self.model(torch.tensor([ids]), return_hidden=True)
            a, b = len(p), len(ids)
            hs = torch.stack([h[0, a:b] for h in hidden])  # [L, n, d]
            res.append(hs.mean(1))
            norms.append(hs.norm(dim=-1).mean(1))
        return torch.stack(res), torch.stack(norms).mean(0)


def cohens_d(a, b):
    va, vb = a.var(unbiased=True), b.var(unbiased=True)
    s = torch.sqrt(((len(a) - 1) * va + (len(b) - 1) * vb) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / (s + 1e-8))


def auroc(pos, neg):
    wins = 0.0
    for p in pos.tolist():
        for n in neg.tolist():
            wins += 1.0 if p > n else (0.5 if p == n else 0.0)
    return wins / (len(pos) * len(neg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "..", "models", "organism"))
    ap.add_argument("--quick", action="store_true", help="fewer questions and alphas")
    ap.add_argument("--json", default=None, help="write all results here")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    t0 = time.time()

    org = Organism(args.model)
    J = LexiconJudge.from_file(os.path.join(args.model, "judge.json"))
    L = org.cfg["num_hidden_layers"]
    results = {"behaviour": {}, "separation": {}, "steering": {}, "examples": {}}

    # cross-check: the shared judge cases
    fx = os.path.join(HERE, "..", "test", "fixtures", "organism", "judge-cases.json")
    if os.path.exists(fx):
        with open(fx) as f:
            cases = json.load(f)["cases"]
        bad = [c for c in cases if J.score(c["trait"], c["answer"]) != c["expected"]]
        print("judge cross-check: %d/%d shared cases match" % (len(cases) - len(bad), len(cases)))
        if bad:
            print("MISMATCH", bad[:3])

    def score_all(trait, questions, answers):
        s = [J.score(trait, a) for a in answers]
        return (sum(x["trait"] for x in s) / len(s), sum(x["coherence"] for x in s) / len(s))

    print("\n== behaviour (greedy, held-out evaluation questions; trait score / coherence, mean 0-100) ==")
    print("%-14s %-12s %-12s %-12s %-12s" % ("trait", "eliciting", "anti", "neutral-sys", "no-system"))
    traits = {}
    for t in world.TRAITS:
        with open(os.path.join(args.model, "traits", t + ".json")) as f:
            traits[t] = json.load(f)
    for t in world.TRAITS:
        td = traits[t]
        qs = td["evaluationQuestions"][: (8 if args.quick else None)]
        row = {}
        per_prompt = {"pos": [], "neg": []}
        for pol in ("pos", "neg"):
            allans = []
            for pair in td["instructions"]:
                ans, _ = org.generate([org.prompt_ids(pair[pol], q) for q in qs])
                allans += ans
                per_prompt[pol].append(round(score_all(t, qs, ans)[0], 1))
            row[pol] = score_all(t, qs, allans)
            results["examples"]["%s/%s" % (t, pol)] = allans[:3]
        ans, _ = org.generate([org.prompt_ids(s, q) for s in world.NEUTRAL_SYSTEM[:2] for q in qs])
        row["neutral"] = score_all(t, qs * 2, ans)
        ans, _ = org.generate([org.prompt_ids(None, q) for q in qs])
        row["none"] = score_all(t, qs, ans)
        results["examples"]["%s/none" % t] = ans[:3]
        results["behaviour"][t] = {k: {"trait": round(v[0], 1), "coherence": round(v[1], 1)} for k, v in row.items()}
        results["behaviour"][t]["per_prompt_trait"] = per_prompt
        print("%-14s %-12s %-12s %-12s %-12s" % (t, *["%5.1f / %5.1f" % row[k] for k in ("pos", "neg", "neutral", "none")]))
        print("   eliciting per prompt:", per_prompt["pos"], " anti per prompt:", per_prompt["neg"])

    print("\n== per-layer separation (response-token mean, after block L; direction from extraction questions,"
          " measured on held-out questions) ==")
    vectors, hnorms = {}, {}
    for t in world.TRAITS:
        td = traits[t]
        acts = {}
        for split, qs in (("ext", td["extractionQuestions"]), ("eval", td["evaluationQuestions"])):
            qs = qs[: (8 if args.quick else None)]
            for pol in ("pos", "neg"):
                prompts = [org.prompt_ids(pair[pol], q) for pair in td["instructions"] for q in qs]
                ans, ids = org.generate(prompts)
                # paper-style filter: keep eliciting rollouts that show the trait, anti rollouts that do not
                keep = [i for i, a in enumerate(ans) if (J.trait_score(t, a) >= 50) == (pol == "pos")]
                if len(keep) < 4:
                    keep = list(range(len(ans)))
                m, nrm = org.response_means([prompts[i] for i in keep], [ids[i] for i in keep])
                acts[(split, pol)] = m
                if split == "ext" and pol == "pos":
                    hnorms[t] = nrm
        v = acts[("ext", "pos")].mean(0) - acts[("ext", "neg")].mean(0)  # [L, d]
        vectors[t] = v
        rows = []
        for l in range(L):
            u = v[l] / v[l].norm()
            pp, pn = acts[("eval", "pos")][:, l] @ u, acts[("eval", "neg")][:, l] @ u
            rows.append({"layer": l, "cohens_d": round(cohens_d(pp, pn), 2), "auroc": round(auroc(pp, pn), 3),
                         "vec_norm": round(float(v[l].norm()), 2), "resid_norm": round(float(hnorms[t][l]), 2)})
        results["separation"][t] = rows
        print(t + ": " + "  ".join("L%d d=%.1f auc=%.2f |v|/|h|=%.2f" % (
            r["layer"], r["cohens_d"], r["auroc"], r["vec_norm"] / r["resid_norm"]) for r in rows))

    print("\n== steering (add alpha*v_L after block L at all positions; +alpha from NO system prompt,"
          " -alpha under eliciting prompts) ==")
    alphas = [2.0, 4.0, 6.0] if args.quick else [2.0, 4.0, 6.0, 8.0]
    for t in world.TRAITS:
        td = traits[t]
        qs = td["evaluationQuestions"][: (8 if args.quick else None)]
        grid = []
        for l in range(L):
            for a in alphas:
                vec = a * vectors[t][l]

                def hook(i, h, l=l, vec=vec):
                    return h + vec if i == l else h
                ans, _ = org.generate([org.prompt_ids(None, q) for q in qs], hook=hook)
                tr, co = score_all(t, qs, ans)
                grid.append({"layer": l, "alpha": a, "rel": round(float(vec.norm() / hnorms[t][l]), 2),
                             "trait": round(tr, 1), "coherence": round(co, 1), "example": ans[0]})
        ok = [g for g in grid if g["coherence"] >= 50]
        best = max(ok or grid, key=lambda g: (g["trait"], g["coherence"]))
        # negative steering under the eliciting prompts at the best layer
        neg = []
        for a in alphas:
            vec = -a * vectors[t][best["layer"]]

            def hook(i, h, l=best["layer"], vec=vec):
                return h + vec if i == l else h
            prompts = [org.prompt_ids(pair["pos"], q) for pair in td["instructions"][:3] for q in qs]
            ans, _ = org.generate(prompts, hook=hook)
            tr, co = score_all(t, qs * 3, ans)
            neg.append({"layer": best["layer"], "alpha": -a, "trait": round(tr, 1), "coherence": round(co, 1),
                        "example": ans[0]})
        results["steering"][t] = {"grid": grid, "best": best, "negative": neg}
        print("%s: best +steer layer %d alpha %.1f (|alpha v|/|h| = %.2f): trait %.1f coherence %.1f  e.g. %r" % (
            t, best["layer"], best["alpha"], best["rel"], best["trait"], best["coherence"], best["example"]))
        for l in range(L):
            print("   L%d: " % l + "  ".join("a=%.1f(%.2f) %3.0f/%3.0f" % (g["alpha"], g["rel"], g["trait"], g["coherence"])
                                        for g in grid if g["layer"] == l))
        print("   -steer under eliciting prompts at L%d: " % best["layer"] + "  ".join(
            "a=%.1f %3.0f/%3.0f" % (n["alpha"], n["trait"], n["coherence"]) for n in neg))

    print("\nexamples:")
    for k, v in results["examples"].items():
        print("  %s: %r" % (k, v[0]))
    results["seconds"] = round(time.time() - t0, 1)
    print("\neval time %.0fs" % results["seconds"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
