#!/usr/bin/env bash
# The one-command GPU check, run on the GPU machine (CUDA and PyTorch there, no .NET needed):
#
#   bash gpu-check.sh infogpu-gpu.tar.xz [OUT]     # the bundle of scripts/make-gpu-bundle.sh
#   bash gpu-check.sh [OUT]                        # from inside an unpacked bundle folder
#
# It unpacks the bundle into a temp folder, makes libcuda.so reachable (a symlink to the
# driver's libcuda.so.1 in a temp folder on LD_LIBRARY_PATH when only .so.1 exists) and
# libcublas (from the PyTorch installation's CUDA libraries when the loader does not find it),
# stops with a clear message when `infogpu devices` lists no cuda device, then:
#   1. infogpu check-device --accelerator cuda --against cpu: every operation on cpu and cuda
#      with the same inputs, compared with named tolerances, and the timings (GEMM 1024^3 through
#      cuBLAS, cuBLAS alone and the hand-written kernel; RBM CD-1 / CD-10 / PCD-1 steps at
#      784x500, batch 100; the VAE step 784-400-20, batch 128; grids of 64 RBMs and 16 VAEs in one
#      fused step and one model after another; entropy and KL; mutual information);
#   2. the PyTorch peers (benchmarks/peers/torch_rbm.py, torch_vae.py) with --device cuda, CUDA
#      events and warm-up, on the same shapes, with whichever python3 imports torch;
#   3. one JSON (OUT/gpu-check.json) and a short table (OUT/gpu-check.md, also printed) with the
#      ratios against the goals.
# OUT defaults to $OUT, else ./gpu-check-results. Exit code: 0 when every check passed, 1 when a
# check failed or a step could not run (the JSON says which).
#
# INFOGPU_CHECK_DEVICE=ilgpu-cpu exercises the whole script without a GPU: the simulated GPU in
# place of cuda, small shapes (--quick), and the peers on the CPU.
set -uo pipefail
started=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
device="${INFOGPU_CHECK_DEVICE:-cuda}"
log() { echo "gpu-check: $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

src=""
if [ $# -ge 1 ] && { [ -f "$1" ] || [ -x "$1/bin/infogpu" ] || [ -x "$1/infogpu-gpu/bin/infogpu" ]; }; then
  src="$1"; shift
fi
out="${1:-${OUT:-gpu-check-results}}"
mkdir -p "$out" || die "cannot make the output folder $out"
out="$(cd "$out" && pwd)"

# 1. The bundle.
if [ -z "$src" ]; then
  [ -x "$here/bin/infogpu" ] || die "no bundle given: run 'bash gpu-check.sh infogpu-gpu.tar.xz [OUT]' (scripts/make-gpu-bundle.sh makes it)"
  root="$here"
elif [ -f "$src" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  tar -xJf "$src" -C "$work" || die "cannot unpack $src (a .tar.xz from scripts/make-gpu-bundle.sh?)"
  root="$work/infogpu-gpu"
elif [ -x "$src/bin/infogpu" ]; then
  root="$src"
else
  root="$src/infogpu-gpu"
fi
bin="$root/bin/infogpu"
[ -x "$bin" ] || die "the bundle has no bin/infogpu ($root)"
log "bundle: $root ($(cat "$root/COMMIT" 2>/dev/null || echo '?')); device: $device; results: $out"

# 2. A python3 that imports torch (the peers re-exec under /usr/bin/python3 only as a fallback).
py=""
for c in ${PYTHON:-} python3 /usr/bin/python3 /opt/conda/bin/python3 /usr/local/bin/python3 python; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c "import torch" >/dev/null 2>&1; then py="$(command -v "$c")"; break; fi
done
[ -n "$py" ] && log "python with torch: $py" || log "no python3 imports torch: the PyTorch peers are skipped"

# 3. libcuda.so and libcublas for the CUDA device.
if [ "$device" = cuda ]; then
  shim="$(mktemp -d)"
  if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so '; then
    one="$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}')"
    if [ -z "$one" ]; then
      for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/cuda/compat /usr/local/nvidia/lib64 /usr/lib/wsl/lib; do
        [ -e "$d/libcuda.so.1" ] && { one="$d/libcuda.so.1"; break; }
      done
    fi
    [ -n "$one" ] || die "no libcuda.so.1 (the NVIDIA driver's library) on this machine: is it a CUDA machine (nvidia-smi)?"
    ln -s "$one" "$shim/libcuda.so"
    log "linked $shim/libcuda.so -> $one"
  fi
  export LD_LIBRARY_PATH="$shim${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.1[0-2] ' && [ -n "$py" ]; then
    libs="$("$py" - <<'PY' 2>/dev/null
import glob, os
dirs = []
try:
    import nvidia.cublas as m
    dirs += [os.path.join(p, "lib") for p in m.__path__]
except Exception:
    pass
try:
    import torch
    dirs.append(os.path.join(os.path.dirname(torch.__file__), "lib"))
except Exception:
    pass
print(":".join(d for d in dirs if glob.glob(os.path.join(d, "libcublas.so.1*"))))
PY
)"
    if [ -n "$libs" ]; then
      export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$libs"
      log "libcublas from the PyTorch installation: $libs"
    fi
  fi
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv > "$out/nvidia-smi.csv" 2>/dev/null || true
fi

# 4. The device must be there.
"$bin" devices --json > "$out/devices.json" 2> "$out/devices.err" || die "infogpu devices failed: $(head -1 "$out/devices.err")"
if ! grep -Eq "\"kind\": *\"$device\"" "$out/devices.json"; then
  listed="$(grep -Eo '"kind": *"[^"]*"' "$out/devices.json" | sed 's/.*: *//' | tr -d '"' | tr '\n' ' ')"
  die "infogpu lists no '$device' device (listed: $listed); for cuda: is the NVIDIA driver loaded (nvidia-smi) and libcuda.so reachable (LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-})?"
fi
log "$(grep -Eo "\"gemm\": *\"[^\"]*\"" "$out/devices.json" | tail -1)"

# 5. Agreement and timings in one process.
check_args=(); check_timeout=360; peer_device=cuda
rbm_shape=(--hidden 500 --batch 100 --step-timing 50); vae_shape=(--hidden 400 --latent 20 --batch 128 --step-timing 50); limit=()
if [ "$device" != cuda ]; then
  # The simulated GPU runs every thread on the CPU: the quick shapes, the GEMM, measure and MI
  # checks only, no time limit worth the name; the peers on the CPU with the same quick shapes.
  check_args=(--quick --checks gemm,measures,mi); check_timeout=3600; peer_device=cpu
  rbm_shape=(--hidden 16 --batch 10 --step-timing 5); vae_shape=(--hidden 16 --latent 20 --batch 16 --step-timing 5); limit=(--limit 256)
fi
log "check-device ${check_args[*]} ..."
timeout "$check_timeout" "$bin" check-device --accelerator "$device" --against cpu "${check_args[@]}" --out "$out/check-device.json" --overwrite \
  > "$out/check-device.txt" 2> "$out/check-device.err"
check_rc=$?
[ $check_rc -eq 0 ] || log "check-device exit code $check_rc: $(grep -m1 -E '^error|exception' "$out/check-device.err")"

# 6. The PyTorch peers on the same shapes.
if [ -n "$py" ]; then
  peers="$root/bin/peers"; data="$root/data/fashion-mnist-subset"
  for spec in "cd1 cd 1" "cd10 cd 10" "pcd1 pcd 1"; do
    set -- $spec
    log "torch_rbm.py --sampler $2 --k $3 --device $peer_device ..."
    timeout 120 "$py" "$peers/torch_rbm.py" --data "$data" "${limit[@]}" --sampler "$2" --k "$3" "${rbm_shape[@]}" \
      --epochs 1 --eval-every 0 --seed 1 --device "$peer_device" --json > "$out/torch_rbm_$1.json" 2> "$out/torch_rbm_$1.err" \
      || log "torch_rbm.py $1 failed: $(tail -1 "$out/torch_rbm_$1.err")"
  done
  log "torch_vae.py --device $peer_device ..."
  timeout 120 "$py" "$peers/torch_vae.py" --data "$data" "${limit[@]}" "${vae_shape[@]}" --epochs 1 --seed 1 \
    --device "$peer_device" --json > "$out/torch_vae.json" 2> "$out/torch_vae.err" \
    || log "torch_vae.py failed: $(tail -1 "$out/torch_vae.err")"
fi

# 7. One JSON and a table.
summary_py="${py:-$(command -v python3 || echo /usr/bin/python3)}"
"$summary_py" - "$out" "$device" "$(( $(date +%s) - started ))" "$check_rc" <<'PY'
import json, os, sys
out, device, seconds, check_rc = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
check = load("check-device.json")
timings = {t["name"]: t for t in (check or {}).get("timings", [])}
def find(prefix):
    return next((t for n, t in timings.items() if n.startswith(prefix)), None)
def step(name):
    d = load(name)
    return d.get("seconds_per_step_median") if d else None
rows, goals = [], []
def ratio(label, ours, theirs, goal, unit="x faster than the peer"):
    r = theirs / ours if ours and theirs else None
    goals.append({"goal": label, "ratio": r, "target": goal, "met": None if r is None or goal is None else r >= goal})
    rows.append((label, ours, theirs, r, goal))
vendor = next((t for n, t in timings.items() if n.startswith("gemm") and "cublas alone" in n), None)
auto = next((t for n, t in timings.items() if n.startswith("gemm") and "auto" in n), None)
hand = next((t for n, t in timings.items() if n.startswith("gemm") and "hand-written" in n), None)
if vendor:
    ratio("gemm through the device path / cuBLAS alone", auto and auto["seconds"], vendor["seconds"], 0.70)
    ratio("hand-written gemm / cuBLAS alone", hand and hand["seconds"], vendor["seconds"], 0.40)
    hs_auto = next((t for n, t in timings.items() if n.startswith("half-sweep") and "auto" in n), None)
    hs_hand = next((t for n, t in timings.items() if n.startswith("half-sweep") and "hand-written" in n), None)
    # Above 1: the fused hand-written half-sweep beats cuBLAS + the epilogue kernel there.
    ratio("half-sweep: fused hand-written / cuBLAS + epilogue", hs_hand and hs_hand["seconds"], hs_auto and hs_auto["seconds"], None)
for key, peer, goal in (("rbm CD-1", "torch_rbm_cd1.json", 2.0), ("rbm CD-10", "torch_rbm_cd10.json", None),
                        ("rbm PCD-1", "torch_rbm_pcd1.json", None), ("vae step", "torch_vae.json", 1.5)):
    t = find(key)
    ratio(key.replace(" step", "") + " step vs PyTorch " + ("CUDA" if device == "cuda" else "CPU") + " eager", t and t["seconds"], step(peer), goal)
# The M-model sweep: one fused grid step of M RBMs against M sequential PyTorch CD-1 steps (the
# throughput of M runs one after another); the goal is stated for M = 64.
grid = next((t for n, t in timings.items() if n.startswith("rbm grid") and " fused " in n), None)
if grid:
    m = int(grid["name"].split()[2])
    cd1 = step("torch_rbm_cd1.json")
    ratio("rbm grid of %d models (fused) vs %d sequential PyTorch CD-1 steps" % (m, m), grid["seconds"], cd1 and m * cd1, 20.0 if m == 64 else None)
    loop = next((t for n, t in timings.items() if n.startswith("rbm grid") and "one by one" in n), None)
    ratio("rbm grid of %d models: fused vs one model after another" % m, grid["seconds"], loop and loop["seconds"], None)
# The beta sweep: one fused grid step of M VAEs against M sequential PyTorch VAE steps (no goal stated).
vgrid = next((t for n, t in timings.items() if n.startswith("vae grid") and " fused " in n), None)
if vgrid:
    m = int(vgrid["name"].split()[2])
    vs = step("torch_vae.json")
    ratio("vae grid of %d models (fused) vs %d sequential PyTorch VAE steps" % (m, m), vgrid["seconds"], vs and m * vs, None)
    vloop = next((t for n, t in timings.items() if n.startswith("vae grid") and "one by one" in n), None)
    ratio("vae grid of %d models: fused vs one model after another" % m, vgrid["seconds"], vloop and vloop["seconds"], None)
doc = {"device": device, "seconds": seconds, "check_device_exit_code": check_rc,
       "checks_passed": (check or {}).get("passed"), "gemm": (check or {}).get("gemm"),
       "check_device": check, "goals": goals,
       "peers": {n: load(n + ".json") for n in ("torch_rbm_cd1", "torch_rbm_cd10", "torch_rbm_pcd1", "torch_vae")},
       "devices": load("devices.json")}
with open(os.path.join(out, "gpu-check.json"), "w") as f:
    json.dump(doc, f, indent=1)
def fmt(x, scale=1e3):
    return "-" if x is None else "%.3f" % (x * scale)
lines = ["# GPU check on %s (%s)" % (device, (check or {}).get("device_name", "?")), "",
         "gemm: %s; checks: %s (%d of them); %d s in all" % ((check or {}).get("gemm"),
         "all passed" if (check or {}).get("passed") else "FAILED or missing",
         len((check or {}).get("checks", [])), seconds), "",
         "| case | InfoGpu ms | peer ms | ratio | goal |", "|---|---|---|---|---|"]
for label, ours, theirs, r, goal in rows:
    lines.append("| %s | %s | %s | %s | %s |" % (label, fmt(ours), fmt(theirs), "-" if r is None else "%.2f" % r, "-" if goal is None else ">= %.2f" % goal))
lines += ["", "| timing | ms | rate |", "|---|---|---|"]
for t in (check or {}).get("timings", []):
    lines.append("| %s | %.3f | %s |" % (t["name"], t["seconds"] * 1e3, "" if t.get("rate") is None else "%.4g %s" % (t["rate"], t["rate_unit"])))
failed = [c for c in (check or {}).get("checks", []) if not c["passed"]]
if failed:
    lines += ["", "failed checks:"] + ["- %s: %s = %g > %g (%s)" % (c["name"], c["metric"], c["value"] if c["value"] is not None else float("nan"), c["tolerance"], c["tolerance_name"]) for c in failed]
text = "\n".join(lines) + "\n"
with open(os.path.join(out, "gpu-check.md"), "w") as f:
    f.write(text)
sys.stdout.write(text)
PY
elapsed=$(( $(date +%s) - started ))
log "done in $elapsed s; $out/gpu-check.json and gpu-check.md"
[ $elapsed -le 480 ] || log "warning: the check took $elapsed s, over its 8-minute budget"
[ $check_rc -eq 0 ] || exit 1
