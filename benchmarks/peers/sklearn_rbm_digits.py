#!/usr/bin/env python3
"""Peer: scikit-learn's BernoulliRBM on its digits data with grey levels as data (test_fit's setting).

Mirrors scikit-learn's own test (sklearn/neural_network/tests/test_rbm.py, test_fit): the 1797
8x8 digits of load_digits() scaled to [0, 1], BernoulliRBM(n_components=64, learning_rate=0.1,
batch_size=10, n_iter=7, random_state=seed).fit(X), then rbm.score_samples(X).mean(), the
pseudo-log-likelihood on the training images themselves (one pixel per image flipped to 1 - v at
np.random.RandomState(seed).randint(0, 64, 1797)). sklearn's test expects about -21 for seed 9.

Like for like with `infogpu rbm train --binarize none`: InfoGpu reads images as IDX bytes and
divides by 255, while sklearn's test divides the digits (0..16) by 16. --write-idx DIR writes the
digits as IDX bytes round(v * 255 / 16) (train and t10k both the 1797 images, labels too), and the
runs here use those same values byte/255 (--scale idx, the default); --scale sixteen runs sklearn's
own X / 16 (at most 0.5/255 different per pixel) for comparison.

The pseudo-log-likelihood of one run is random (the flipped pixels and the training draws): the
script trains one model per seed of --seeds and reports each seed's mean score, their mean and
standard deviation, and the reconstruction error (mean over images of sum_i (v_i - p(v_i|h))^2,
h = p(h|v)).

Output (--json): {"peer": "sklearn-bernoullirbm-digits", "config", "runs": [{"seed",
"pseudo_log_likelihood", "reconstruction_error", "seconds"}], "pseudo_log_likelihood_mean",
"pseudo_log_likelihood_std", "reconstruction_error_mean", "reconstruction_error_std", "versions"}.
Example: /usr/bin/python3 sklearn_rbm_digits.py --seeds 0-9 --json
"""
import argparse
import gzip
import os
import struct
import time

import _peers as P

P.need("numpy", "scipy", "sklearn")

import numpy as np  # noqa: E402
from scipy.special import expit  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.neural_network import BernoulliRBM  # noqa: E402


def seed_list(text):
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.extend(range(int(a), int(b) + 1))
        else:
            out.append(int(part))
    if not out or min(out) < 0:
        raise argparse.ArgumentTypeError("seeds are integers >= 0, e.g. 0-9 or 1,5,9")
    return out


def digits_bytes():
    """load_digits() as uint8 IDX pixels round(v * 255 / 16), and the labels."""
    d = load_digits()
    return np.rint(d.data * 255.0 / 16.0).astype(np.uint8), d.target.astype(np.uint8)


def write_idx(folder, pixels, labels):
    os.makedirs(folder, exist_ok=True)
    n = pixels.shape[0]
    images = struct.pack(">IIII", 0x803, n, 8, 8) + pixels.tobytes()
    labs = struct.pack(">II", 0x801, n) + labels.tobytes()
    for stem in ("train", "t10k"):
        for name, body in (("%s-images-idx3-ubyte" % stem, images), ("%s-labels-idx1-ubyte" % stem, labs)):
            # mtime=0 keeps the files byte for byte reproducible.
            with gzip.GzipFile(os.path.join(folder, name + ".gz"), "wb", compresslevel=9, mtime=0) as g:
                g.write(body)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seeds", type=seed_list, default=seed_list("0-9"), help="random_state of each run: 0-9 or 1,5,9")
    p.add_argument("--scale", choices=("idx", "sixteen"), default="idx",
                   help="idx: byte/255 of the IDX bytes InfoGpu reads; sixteen: sklearn's X / 16")
    p.add_argument("--hidden", type=P.positive_int, default=64)
    p.add_argument("--lr", type=P.positive_float, default=0.1)
    p.add_argument("--batch", type=P.positive_int, default=10)
    p.add_argument("--epochs", type=P.positive_int, default=7)
    p.add_argument("--write-idx", metavar="DIR", default=None,
                   help="write the digits as IDX files (train = t10k = all 1797) into DIR and exit")
    P.add_common_args(p, seed=0, data=False, limit=False)
    args = p.parse_args()
    P.set_threads(args.threads)
    pixels, labels = digits_bytes()
    if args.write_idx:
        write_idx(args.write_idx, pixels, labels)
        P.log("wrote %d digits to %s" % (pixels.shape[0], args.write_idx))
        return
    X = pixels.astype(np.float64) / 255.0 if args.scale == "idx" else load_digits().data / 16.0
    runs = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        rbm = BernoulliRBM(n_components=args.hidden, learning_rate=args.lr, batch_size=args.batch,
                           n_iter=args.epochs, random_state=seed).fit(X)
        secs = time.perf_counter() - t0
        pll = float(rbm.score_samples(X).mean())
        h = expit(X @ rbm.components_.T + rbm.intercept_hidden_)
        pv = expit(h @ rbm.components_ + rbm.intercept_visible_)
        rec = float(((X - pv) ** 2).sum(axis=1).mean())
        runs.append({"seed": seed, "pseudo_log_likelihood": pll, "reconstruction_error": rec, "seconds": secs})
        P.log("  seed %d: PLL %.3f  recon %.3f  (%.2f s)" % (seed, pll, rec, secs))
    plls = np.array([r["pseudo_log_likelihood"] for r in runs])
    recs = np.array([r["reconstruction_error"] for r in runs])
    sd = (lambda a: float(a.std(ddof=1)) if len(a) > 1 else None)
    doc = {"peer": "sklearn-bernoullirbm-digits",
           "config": {"data": "sklearn.datasets.load_digits (1797 x 64)",
                      "scale": "round(v*255/16)/255 (the IDX bytes)" if args.scale == "idx" else "v/16",
                      "hidden": args.hidden, "lr": args.lr, "batch": args.batch, "epochs": args.epochs,
                      "sampler": "pcd", "k": 1, "momentum": None, "weight_decay": None,
                      "evaluated_on": "the training images (as sklearn's test_fit)",
                      "estimator": "BernoulliRBM(n_components=%d, learning_rate=%g, batch_size=%d, n_iter=%d, random_state=seed)"
                                   % (args.hidden, args.lr, args.batch, args.epochs)},
           "runs": runs,
           "pseudo_log_likelihood_mean": float(plls.mean()), "pseudo_log_likelihood_std": sd(plls),
           "reconstruction_error_mean": float(recs.mean()), "reconstruction_error_std": sd(recs),
           "versions": P.versions()}
    rows = [[r["seed"], r["pseudo_log_likelihood"], r["reconstruction_error"], r["seconds"]] for r in runs]
    P.emit(doc, args.json, rows=rows, headers=["seed", "PLL", "recon_err", "seconds"],
           notes=["mean PLL %.3f (sd %s), mean reconstruction error %.3f" % (plls.mean(), P._fmt(sd(plls)), recs.mean())])


if __name__ == "__main__":
    P.run(main)
