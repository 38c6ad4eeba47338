#!/usr/bin/env bash
# Builds the self-contained bundle the GPU check runs from, on a machine with the .NET SDK:
#
#   bash scripts/make-gpu-bundle.sh [OUT.tar.xz]     # default: out/infogpu-gpu.tar.xz
#
# The bundle (one folder, infogpu-gpu/) holds the linux-x64 self-contained console (bin/, no .pdb
# or XML docs; the peers of benchmarks/peers come with it as bin/peers/), the Fashion-MNIST subset
# as IDX files for the PyTorch peers (data/fashion-mnist-subset/), and benchmarks/gpu-check.sh.
# Carry the .tar.xz and gpu-check.sh to the GPU machine and run `bash gpu-check.sh BUNDLE.tar.xz`
# there (see the script). Refuses a bundle over 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/infogpu-gpu.tar.xz}"
limit=$((64 * 1024 * 1024))
case "$out" in *.tar.xz) ;; *) echo "error: the bundle name must end in .tar.xz (got $out)" >&2; exit 2 ;; esac
if [ -e "$out" ] && [ "${OVERWRITE:-0}" != 1 ]; then
  echo "error: $out exists: remove it or set OVERWRITE=1" >&2
  exit 1
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
root="$stage/infogpu-gpu"
mkdir -p "$root/bin" "$root/data"
dotnet publish src/Host -c Release -r linux-x64 --self-contained -p:InvariantGlobalization=true \
  -p:DebugType=none -p:GenerateDocumentationFile=false -o "$root/bin" >&2
# Not needed to run: symbols, XML docs, and native assets of other platforms.
find "$root/bin" \( -name '*.pdb' -o -name '*.xml' -o -name '*.dbg' \) -delete
if [ -d "$root/bin/runtimes" ]; then
  find "$root/bin/runtimes" -mindepth 1 -maxdepth 1 -type d ! -name 'linux-x64' -exec rm -rf {} +
fi
[ -x "$root/bin/infogpu" ] || { echo "error: the publish made no bin/infogpu" >&2; exit 1; }
cp -r data/fashion-mnist-subset "$root/data/"
cp benchmarks/gpu-check.sh "$root/gpu-check.sh"
git rev-parse --short HEAD > "$root/COMMIT" 2>/dev/null || echo unknown > "$root/COMMIT"
mkdir -p "$(dirname "$out")"
tmp="$out.tmp"
tar -C "$stage" -cf - infogpu-gpu | xz -T0 -6 > "$tmp"
size=$(stat -c %s "$tmp")
raw=$(du -sb "$root" | cut -f1)
if [ "$size" -gt "$limit" ]; then
  rm -f "$tmp"
  echo "error: the bundle is $size bytes, over the 64 MiB limit ($raw bytes unpacked)" >&2
  exit 1
fi
mv -f "$tmp" "$out"
echo "$out: $size bytes ($(( size / 1024 / 1024 )) MiB; $(( raw / 1024 / 1024 )) MiB unpacked)"
