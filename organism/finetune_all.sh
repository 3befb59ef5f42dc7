#!/usr/bin/env bash
# Rebuilds models/organism-finetuned from the bundled organism: issue 8's experiment (plain vs preventatively
# steered fine-tune on the strongly evil-inducing screening set). Needs Node (npm ci) and Debian's /usr/bin/python3 with python3-torch (a python3 earlier on PATH may lack torch).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
D=models/organism-finetuned
node dist/cli.js extract --model models/organism --trait models/organism/traits/evil.json --out "$D/evil.organism.safetensors" --max-tokens 48 --coefs 1,2,3,4
# The sweep recommends α = 3 for steering at inference; as preventative steering during training α = 5 is the
# smallest of 3 / 4 / 5 that keeps the evil score within 10 of the base (see README.md in $D).
node dist/cli.js export-steering --vector "$D/evil.organism.safetensors" --out "$D/steering" --coef 5 --overwrite
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 organism/finetune.py --out "$D/evil-plain"
OPENBLAS_NUM_THREADS=1 /usr/bin/python3 organism/finetune.py --out "$D/evil-steered" --steering "$D/steering"
