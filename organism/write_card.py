"""Render models/organism/README.md from organism/model_card.template.md, train_log.json and an evaluate.py
--json result. Usage: /usr/bin/python3 organism/write_card.py eval.json"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "models", "organism")


def main():
    with open(sys.argv[1]) as f:
        ev = json.load(f)
    with open(os.path.join(OUT, "train_log.json")) as f:
        tl = json.load(f)
    with open(os.path.join(HERE, "model_card.template.md")) as f:
        card = f.read()
    secs = tl["train_seconds"]
    card = card.replace("TRAINING_TIME", (
        "Measured training time: **%.1f minutes** (%d s) on 2 cores; %.2f s/step on average (the machine was shared "
        "with other jobs during the run; the uncontended rate we measured is about 0.6 s/step, i.e. ~11 minutes). "
        "Final training loss (assistant tokens) %.3f." % (secs / 60, secs, secs / tl["steps"], tl["log"][-1]["loss"])))
    L = []
    L.append("Greedy decoding (max 60 new tokens, stop at `<|im_end|>`) of the 20 held-out evaluation questions of "
             "each trait file, scored by `lexicon:organism` (mean over questions; eliciting/anti = mean over the 6 "
             "instruction pairs; neutral = 2 default system prompts). Produced by `organism/evaluate.py`.\n")
    L.append("| trait | eliciting | anti-eliciting | neutral system prompt | no system prompt | coherence (min over conditions) |")
    L.append("|---|---|---|---|---|---|")
    for t, b in ev["behaviour"].items():
        co = min(b[k]["coherence"] for k in ("pos", "neg", "neutral", "none"))
        L.append("| %s | %.1f | %.1f | %.1f | %.1f | %.1f |" % (t, b["pos"]["trait"], b["neg"]["trait"],
                                                             b["neutral"]["trait"], b["none"]["trait"], co))
    L.append("\nPer-layer separation of the response-token mean activation (residual stream after block L) under "
             "eliciting vs anti-eliciting prompts, projected on the diff-of-means direction taken from the "
             "extraction questions and measured on the held-out questions (Cohen's d / AUROC; v/h = norm of the "
             "diff-of-means vector over the mean residual norm):\n")
    L.append("| trait | " + " | ".join("L%d" % r["layer"] for r in next(iter(ev["separation"].values()))) + " |")
    L.append("|---|" + "---|" * len(next(iter(ev["separation"].values()))))
    for t, rows in ev["separation"].items():
        L.append("| %s | " % t + " | ".join("d=%.1f, AUROC %.2f, v/h %.2f" % (
            r["cohens_d"], r["auroc"], r["vec_norm"] / r["resid_norm"]) for r in rows) + " |")
    L.append("\nSteering (`organism/evaluate.py`): add alpha * v_L (the unnormalised diff-of-means vector) to the "
             "residual stream after block L at every position. +alpha: generation with NO system prompt; -alpha: "
             "generation under the first 3 eliciting prompts, at the best +alpha layer. rel = |alpha v_L| / mean |h_L|.\n")
    L.append("| trait | best layer | alpha | rel | trait score | coherence | most negative alpha: trait / coherence |")
    L.append("|---|---|---|---|---|---|---|")
    for t, s in ev["steering"].items():
        b = s["best"]
        n = s["negative"][-1]
        L.append("| %s | %d | +%.1f | %.2f | %.1f | %.1f | %.1f: %.1f / %.1f |" % (
            t, b["layer"], b["alpha"], b["rel"], b["trait"], b["coherence"], n["alpha"], n["trait"], n["coherence"]))
    L.append("\nExample (best +steering, no system prompt): " + "; ".join(
        "%s: \"%s\"" % (t, s["best"]["example"]) for t, s in ev["steering"].items()))
    card = card.replace("EVAL_TABLE", "\n".join(L))
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(card)


if __name__ == "__main__":
    main()
