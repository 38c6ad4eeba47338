#!/usr/bin/env bash
# Runs InfoGpu on a CUDA machine that has no .NET: publish the console self-contained here,
# carry .gpu/ to the GPU machine, and run this script there with `bash benchmarks/gpu.sh run`.
#
#   bash benchmarks/gpu.sh publish     # here: writes .gpu/infogpu (add /.gpu/ to .git/info/exclude)
#   bash benchmarks/gpu.sh run [OUT]   # there: devices, the report on CUDA, every benchmark suite
#
# Results go to OUT (default: $OUT or ./gpu-results): devices.json, bench.json, report/.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-run}" in
  publish)
    dotnet publish src/Host -c Release -r linux-x64 --self-contained \
      -p:PublishSingleFile=true -p:InvariantGlobalization=true -o .gpu
    ;;
  run)
    out="${2:-${OUT:-gpu-results}}"
    mkdir -p "$out"
    bin=./.gpu/infogpu
    [ -x "$bin" ] || { echo "no $bin: run 'bash benchmarks/gpu.sh publish' first and carry .gpu" >&2; exit 1; }
    nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee "$out/nvidia-smi.csv" || true
    "$bin" devices --json | tee "$out/devices.json"
    # The chapter end to end on CUDA (the report's numbers double as a check against the cpu results).
    "$bin" report --quick --accelerator cuda --out "$out/report" --json > "$out/report.json"
    # Every suite on CUDA; --peers would also run the CPU peers of benchmarks/peers (python3-torch, -sklearn).
    "$bin" bench --suite all --accelerator cuda --json > "$out/bench.json"
    # The PyTorch CUDA comparison (torch_rbm.py / torch_vae.py --device cuda) and the cpu/cuda
    # agreement checks are benchmarks/gpu-check.sh, which runs from the bundle of
    # scripts/make-gpu-bundle.sh.
    echo "results in $out"
    ;;
  *)
    echo "usage: bash benchmarks/gpu.sh publish|run [OUT]" >&2
    exit 2
    ;;
esac
