#!/usr/bin/env python3
"""Writes tests/InfoGpu.Tests/Reference/exact_measures.json: exact values for the float64
mutual information, the conditional entropies, the ELBO of given tensors and the losses from logits.

    /usr/bin/python3 scripts/make-exact-reference.py           # rewrite the file
    /usr/bin/python3 scripts/make-exact-reference.py --check   # compare only; exit 1 on a difference

Joint tables and samples: every table entry is taken as the exact binary value of its float64
(fractions.Fraction), the table is divided by its exact sum, and I(X;Y) = sum p ln(p / (p_x p_y)),
H(X|Y) = -sum p ln(p / p_y), H(Y|X) = -sum p ln(p / p_x) are evaluated with 60-digit decimal
logarithms (the decimal module), so the stored values are correct to the last bit of a double.
Samples are turned into exact count fractions the same way.

ELBO and losses: PyTorch (Debian's python3-torch) in float64:
binary_cross_entropy_with_logits(reduction="sum") per row, the analytic Gaussian KL
-1/2 sum(1 + logvar - mu^2 - exp(logvar)), cross_entropy(label_smoothing=eps, reduction="none"),
kl_div(log_softmax(x), t, reduction="none").sum(1) with t the smoothed one-hot target, softmax and
log_softmax of x / T. The textbook's label smoothing (1 - eps on the target, eps / (K - 1) on the
others) is not a PyTorch option: its loss is -sum t log_softmax(x) with that t, also in PyTorch.
The inputs are fixed lists in this file (drawn once from numpy's default_rng(2026) and written out
to 17 digits), so the file does not depend on a generator's version.
"""
import argparse
import decimal
import json
import os
import sys
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "InfoGpu.Tests", "Reference", "exact_measures.json")

decimal.getcontext().prec = 60
D = decimal.Decimal


def ln(fr):
    return (D(fr.numerator) / D(fr.denominator)).ln()


def exact_joint(table):
    """(I, H(X|Y), H(Y|X)) in nats of a table of exact fractions (rows X), normalized by its sum."""
    s = sum(sum(r) for r in table)
    p = [[v / s for v in r] for r in table]
    px = [sum(r) for r in p]
    py = [sum(p[a][b] for a in range(len(p))) for b in range(len(p[0]))]
    mi = D(0)
    hxy = D(0)
    hyx = D(0)
    for a, r in enumerate(p):
        for b, v in enumerate(r):
            if v > 0:
                w = D(v.numerator) / D(v.denominator)
                mi += w * ln(v / (px[a] * py[b]))
                hxy -= w * ln(v / py[b])
                hyx -= w * ln(v / px[a])
    return float(mi), float(hxy), float(hyx)


def table_case(name, rows):
    values = [[float(v) for v in r.split(",")] for r in rows.split(";")]
    mi, hxy, hyx = exact_joint([[Fraction(v) for v in r] for r in values])
    return {"name": name, "table": rows, "nx": len(values), "ny": len(values[0]),
            "mi_nats": mi, "h_x_given_y_nats": hxy, "h_y_given_x_nats": hyx}


def sample_case(name, x, y):
    xs = sorted(set(x))
    ys = sorted(set(y))
    counts = [[Fraction(0)] * len(ys) for _ in xs]
    for a, b in zip(x, y):
        counts[xs.index(a)][ys.index(b)] += 1
    mi, hxy, hyx = exact_joint(counts)
    return {"name": name, "x": x, "y": y, "mi_nats": mi, "h_x_given_y_nats": hxy, "h_y_given_x_nats": hyx}


TABLES = [
    ("chapter_2x2", "0.2,0.1;0.15,0.55"),
    # MI about 0.0033 nats: the product of the marginals (0.1,0.2,0.3,0.4) x (0.2,0.3,0.5) plus a
    # small pattern whose rows and columns sum to 0.
    ("weak_4x3", "0.026,0.034,0.04;0.04,0.06,0.1;0.054,0.096,0.15;0.08,0.11,0.21"),
    # MI about 8.0e-8 nats.
    ("near_independent_2x2", "0.2501,0.2499;0.2499,0.2501"),
    # Exactly the product of its marginals in binary: MI exactly 0.
    ("independent_2x3", "0.125,0.125,0.25;0.125,0.125,0.25"),
    ("with_zero_3x3", "0.3,0,0.05;0.1,0.2,0;0,0.15,0.2"),
]

WEATHER = [0, 0, 0, 0, 1, 1, 1, 1, 0, 1] * 10
UMBRELLA = [0, 0, 0, 1, 1, 1, 1, 1, 0, 1] * 10
# 60 pairs of nearly independent categories (x in 0..2, y in 0..3), drawn once.
NOISY_X = [0, 2, 1, 1, 0, 2, 2, 0, 1, 0, 1, 2, 0, 0, 1, 2, 1, 0, 2, 1, 0, 1, 2, 2, 0, 1, 1, 0, 2, 0,
           1, 2, 0, 1, 2, 0, 0, 1, 2, 1, 2, 0, 1, 0, 2, 1, 0, 2, 1, 1, 0, 2, 0, 1, 2, 2, 1, 0, 1, 2]
NOISY_Y = [3, 1, 0, 2, 1, 3, 0, 2, 1, 0, 3, 2, 1, 3, 0, 1, 2, 0, 3, 1, 2, 3, 0, 1, 2, 0, 1, 3, 2, 1,
           0, 3, 2, 1, 0, 3, 1, 2, 0, 3, 1, 0, 2, 3, 1, 0, 3, 2, 1, 0, 2, 3, 0, 1, 2, 3, 0, 1, 2, 0]

# ELBO inputs: 4 rows, D = 6 features, L = 3 latent dimensions.
ELBO_X = [[0, 1, 1, 0, 0.25, 1], [1, 1, 0, 0, 0, 0.5], [0, 0, 0, 1, 1, 1], [0.75, 0, 1, 0, 1, 0]]
ELBO_LOGITS = [[-2.5, 3.1, 0.7, -0.2, -1.3, 4.4], [1.9, 2.2, -3.3, -0.6, -5.0, 0.1],
               [-1.2, -2.8, -0.4, 2.6, 1.5, 3.7], [0.9, -1.7, 2.4, -3.9, 0.3, -0.8]]
ELBO_MU = [[0.3, -1.1, 0.05], [-0.7, 0.4, 0.0], [1.6, -0.2, -0.01], [0.1, 0.9, 0.02]]
ELBO_LOGVAR = [[-0.5, -1.9, 0.01], [-0.2, -2.4, -0.03], [-1.1, -0.7, 0.0], [-0.9, -1.3, 0.02]]

# Losses: 5 rows of 4 classes.
LOSS_LOGITS = [[1.0, 3.5, 0.5, 0.8], [2.0, 0.5, 1.5, 1.0], [-0.3, 0.2, 4.1, -1.7],
               [12.0, -3.0, 0.0, 1.0], [0.25, 0.25, 0.25, 0.25]]
LOSS_TARGETS = [1, 1, 2, 0, 3]
SOFTMAX_TEMPERATURE = 2.0


def torch_values():
    import torch
    import torch.nn.functional as F
    t64 = torch.float64
    x = torch.tensor(ELBO_X, dtype=t64)
    lg = torch.tensor(ELBO_LOGITS, dtype=t64)
    mu = torch.tensor(ELBO_MU, dtype=t64)
    lv = torch.tensor(ELBO_LOGVAR, dtype=t64)
    bce = F.binary_cross_entropy_with_logits(lg, x, reduction="none").sum(1)
    kl = -0.5 * (1 + lv - mu.pow(2) - lv.exp()).sum(1)
    elbo = {
        "x": ELBO_X, "logits": ELBO_LOGITS, "mu": ELBO_MU, "logvar": ELBO_LOGVAR,
        "bce_per_row": bce.tolist(), "kl_per_row": kl.tolist(), "elbo_per_row": (-(bce + kl)).tolist(),
        "mean_bce": bce.mean().item(), "mean_kl": kl.mean().item(), "mean_elbo": (-(bce + kl)).mean().item(),
        "mean_sigma": torch.exp(0.5 * lv).mean().item(),
        "kl_per_dimension": (-0.5 * (1 + lv - mu.pow(2) - lv.exp())).mean(0).tolist(),
    }
    z = torch.tensor(LOSS_LOGITS, dtype=t64)
    tg = torch.tensor(LOSS_TARGETS)
    k = z.shape[1]
    logp = F.log_softmax(z, dim=1)

    def textbook_target(eps):
        t = torch.full(z.shape, eps / (k - 1), dtype=t64)
        t[torch.arange(len(LOSS_TARGETS)), tg] = 1 - eps
        return t

    def torch_target(eps):
        return (1 - eps) * F.one_hot(tg, k).to(t64) + eps / k

    losses = {"logits": LOSS_LOGITS, "targets": LOSS_TARGETS, "softmax_temperature": SOFTMAX_TEMPERATURE,
              "cross_entropy": F.cross_entropy(z, tg, reduction="none").tolist()}
    for eps in (0.1, 0.3):
        losses["cross_entropy_torch_%g" % eps] = F.cross_entropy(z, tg, reduction="none", label_smoothing=eps).tolist()
        losses["cross_entropy_textbook_%g" % eps] = (-(textbook_target(eps) * logp).sum(1)).tolist()
        losses["kl_div_torch_%g" % eps] = F.kl_div(logp, torch_target(eps), reduction="none").sum(1).tolist()
        losses["kl_div_textbook_%g" % eps] = F.kl_div(logp, textbook_target(eps), reduction="none").sum(1).tolist()
    losses["kl_div"] = F.kl_div(logp, F.one_hot(tg, k).to(t64), reduction="none").sum(1).tolist()
    losses["softmax"] = F.softmax(z, dim=1).tolist()
    losses["log_softmax_temperature"] = F.log_softmax(z / SOFTMAX_TEMPERATURE, dim=1).tolist()
    return elbo, losses, torch.__version__


def build():
    elbo, losses, version = torch_values()
    return {
        "provenance": "scripts/make-exact-reference.py: tables and samples exact (fractions + 60-digit decimal logarithms); "
                      "ELBO and losses PyTorch %s in float64" % version,
        "tables": [table_case(n, r) for n, r in TABLES],
        "samples": [sample_case("weather_umbrella_x10", WEATHER, UMBRELLA), sample_case("noisy_3x4", NOISY_X, NOISY_Y)],
        "elbo": elbo,
        "losses": losses,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = json.dumps(build(), indent=1) + "\n"
    if args.check:
        with open(OUT) as f:
            old = json.load(f)
        new = json.loads(text)
        old.pop("provenance", None)
        new.pop("provenance", None)
        if old != new:
            sys.stderr.write("exact_measures.json differs from what the script computes\n")
            sys.exit(1)
        print("exact_measures.json: identical")
        return
    with open(OUT, "w") as f:
        f.write(text)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
