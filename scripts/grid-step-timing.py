#!/usr/bin/python3
"""Seconds per training step of an RBM grid (rbm train --seeds 1-M) against one model trained alone.

Runs the built console (src/Host/bin/Release/net10.0/infogpu.dll) on the embedded data subset:
for each accelerator and M, one epoch of a grid of M RBMs, and one epoch of the model alone.
A model's epoch seconds count its own training steps only (monitors excluded); a grid step is
the sum over its models. Prints one line per case and a JSON list at the end.

usage: scripts/grid-step-timing.py [ACCEL:HIDDEN ...]   (default cpu:500 ilgpu-cpu:128)
"""
import json
import subprocess
import sys
import tempfile

DLL = "src/Host/bin/Release/net10.0/infogpu.dll"
LIMIT, BATCH = 1000, 100
STEPS = LIMIT // BATCH


def run(args):
    out = subprocess.run(["dotnet", DLL, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    cases = sys.argv[1:] or ["cpu:500", "ilgpu-cpu:128"]
    rows = []
    for case in cases:
        accel, hidden = case.split(":")
        common = ["--hidden", hidden, "--limit", str(LIMIT), "--batch", str(BATCH), "--epochs", "1",
                  "--sample-steps", "1", "--monitor-rows", "50", "--accelerator", accel, "--json"]
        with tempfile.TemporaryDirectory() as tmp:
            alone = run(["rbm", "train", "--seed", "1", "--out", f"{tmp}/alone", *common])
            single = alone["epochs"][0]["seconds"] / STEPS
            for m in (1, 4, 16):
                index = run(["rbm", "train", "--seeds", f"1-{m}", "--out", f"{tmp}/grid{m}", *common])
                grid = sum(x["final"]["seconds"] for x in index["models"]) / STEPS
                row = {"accelerator": accel, "visible": 784, "hidden": int(hidden), "batch": BATCH, "models": m,
                       "grid_step_s": grid, "single_step_s": single, "ratio_to_m_single": grid / (m * single)}
                rows.append(row)
                print(f"{accel} 784x{hidden} M={m:2d}: grid step {grid * 1e3:9.2f} ms, "
                      f"M single steps {m * single * 1e3:9.2f} ms, ratio {grid / (m * single):.2f}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
