#!/usr/bin/python3
"""Seconds per training step of an RBM grid (rbm train --seeds 1-M) against one model trained alone.

Runs the built console (src/Host/bin/Release/net10.0/infogpu.dll) on the embedded data subset:
for each accelerator and M, two epochs of a grid of M RBMs, and two epochs of the model alone;
the second epoch is timed (the first carries the compilation of the code and kernels). A
model's epoch seconds count its own training steps only (monitors excluded); a grid step is the
sum over its models. Prints one line per case and a JSON list at the end.

usage: scripts/grid-step-timing.py [ACCEL:HIDDEN:IMAGES:BATCH ...]
       (default cpu:500:1000:100 ilgpu-cpu:32:200:50)
"""
import json
import subprocess
import sys
import tempfile

DLL = "src/Host/bin/Release/net10.0/infogpu.dll"


def run(args):
    out = subprocess.run(["dotnet", DLL, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    cases = sys.argv[1:] or ["cpu:500:1000:100", "ilgpu-cpu:32:200:50"]
    rows = []
    for case in cases:
        accel, hidden, limit, batch = case.split(":")
        steps = -(-int(limit) // int(batch))
        common = ["--hidden", hidden, "--limit", limit, "--batch", batch, "--epochs", "2",
                  "--sample-steps", "1", "--monitor-rows", "20", "--accelerator", accel, "--json"]
        with tempfile.TemporaryDirectory() as tmp:
            alone = run(["rbm", "train", "--seed", "1", "--out", f"{tmp}/alone", *common])
            single = alone["epochs"][1]["seconds"] / steps
            for m in (1, 4, 16):
                index = run(["rbm", "train", "--seeds", f"1-{m}", "--out", f"{tmp}/grid{m}", *common])
                grid = sum(x["final"]["seconds"] for x in index["models"]) / steps
                row = {"accelerator": accel, "visible": 784, "hidden": int(hidden), "batch": int(batch), "images": int(limit), "models": m,
                       "grid_step_s": grid, "single_step_s": single, "ratio_to_m_single": grid / (m * single)}
                rows.append(row)
                print(f"{accel} 784x{hidden} M={m:2d}: grid step {grid * 1e3:9.2f} ms, "
                      f"M single steps {m * single * 1e3:9.2f} ms, ratio {grid / (m * single):.2f}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
