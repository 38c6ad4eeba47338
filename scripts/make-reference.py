#!/usr/bin/env python3
"""Regenerates the reference values that InfoGpu's tests and report compare against.

Run with Debian's interpreter and packages (bookworm: numpy 1.24, scipy 1.10, scikit-learn 1.2.1):

    apt-get install -y python3-numpy python3-scipy python3-sklearn libopenblas0-pthread
    /usr/bin/python3 scripts/make-reference.py            # rewrite the files below
    /usr/bin/python3 scripts/make-reference.py --check    # compare only; exit 1 on a difference

What it produces (paths from the repository root):

- data/make-classification/make_classification_1000x20.csv.gz: scikit-learn's
  make_classification(n_samples=1000, n_features=20, n_informative=5, n_redundant=5,
  n_repeated=0, n_classes=2, random_state=42), header x0..x19,y, features printed with %.17g
  (exact float64), the label as an integer. --check compares the decompressed text byte for byte
  (the gzip container itself carries a timestamp, so it is only rewritten when the text differs).
- data/make-classification/mutual_info_classif.json: mutual_info_classif(X, y, n_neighbors=3,
  random_state=42) on that CSV as read back by numpy.loadtxt, the top five features, and the
  noise-free scores (columns scaled by their standard deviation without centring, no noise, the
  Ross (2014) estimator with k = 3, clipped at 0).
- tests/InfoGpu.Tests/Reference/seed_values.json: only checked (--check or not), never rewritten:
  every value that numpy/scipy can recompute from the file's own "inputs" is recomputed in float64
  and compared (relative 1e-12). The two "*_torch_nats" values were computed with PyTorch 1.13.1's
  cross_entropy(label_smoothing=...) in float64; here they are recomputed from the formula in the
  file's "ls_torch_definition".

The BLAS matters: make_classification builds the redundant features with a matrix product, and
with Debian's reference BLAS (libblas3 alone) the last digits of 985 of the 1,000 CSV
rows differ; with libopenblas0-pthread the CSV and the JSON come out byte for byte as stored.

tests/InfoGpu.Tests/Reference/philox4x32_10_kat.json holds copied facts (Random123's published
known-answer vectors) and is not produced here.
"""
import argparse
import gzip
import io
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MC_DIR = os.path.join(ROOT, "data", "make-classification")
CSV_GZ = os.path.join(MC_DIR, "make_classification_1000x20.csv.gz")
MI_JSON = os.path.join(MC_DIR, "mutual_info_classif.json")
SEED_JSON = os.path.join(ROOT, "tests", "InfoGpu.Tests", "Reference", "seed_values.json")

DEBIAN = {"numpy": "python3-numpy", "scipy": "python3-scipy", "sklearn": "python3-sklearn"}


def need(*modules):
    import importlib.util
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        pkgs = " ".join(DEBIAN[m] for m in missing)
        sys.stderr.write("error: %s not importable by %s; apt-get install %s and run with /usr/bin/python3\n"
                         % (", ".join(missing), sys.executable, pkgs))
        sys.exit(1)


need("numpy", "scipy", "sklearn")

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from scipy.special import digamma  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.feature_selection import mutual_info_classif  # noqa: E402
from sklearn.neighbors import KDTree, NearestNeighbors  # noqa: E402
from sklearn.preprocessing import scale  # noqa: E402

PARAMS = dict(n_samples=1000, n_features=20, n_informative=5, n_redundant=5, n_repeated=0,
              n_classes=2, random_state=42)


def csv_text():
    X, y = make_classification(**PARAMS)
    header = ",".join(["x%d" % i for i in range(X.shape[1])] + ["y"])
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([X, y]), delimiter=",", header=header, comments="",
               fmt=["%.17g"] * X.shape[1] + ["%d"])
    return buf.getvalue()


def ross_mi(c, d, k):
    """scikit-learn 1.2's _compute_mi_cd: MI between continuous c and discrete d (Ross 2014)."""
    n = c.shape[0]
    c = c.reshape((-1, 1))
    radius = np.empty(n)
    label_counts = np.empty(n)
    k_all = np.empty(n)
    nn = NearestNeighbors()
    for label in np.unique(d):
        mask = d == label
        count = np.sum(mask)
        if count > 1:
            kk = min(k, count - 1)
            nn.set_params(n_neighbors=kk)
            nn.fit(c[mask])
            r = nn.kneighbors()[0]
            radius[mask] = np.nextafter(r[:, -1], 0)
            k_all[mask] = kk
        label_counts[mask] = count
    mask = label_counts > 1
    n_samples = np.sum(mask)
    label_counts = label_counts[mask]
    k_all = k_all[mask]
    c = c[mask]
    radius = radius[mask]
    kd = KDTree(c)
    m_all = kd.query_radius(c, radius, count_only=True, return_distance=False)
    m_all = np.array(m_all)
    mi = digamma(n_samples) + np.mean(digamma(k_all)) - np.mean(digamma(label_counts)) - np.mean(digamma(m_all))
    return max(0.0, mi)


def mi_document(text):
    data = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1)
    X, y = np.ascontiguousarray(data[:, :-1]), data[:, -1].astype(np.int64)
    scores = mutual_info_classif(X, y, n_neighbors=3, copy=True, random_state=42)
    top5 = [int(i) for i in np.argsort(-scores, kind="stable")[:5]]
    Xs = scale(X, with_mean=False)
    clean = [float(ross_mi(Xs[:, j], y, 3)) for j in range(X.shape[1])]
    return {
        "data": "make_classification_1000x20.csv: 20 feature columns then the label (0/1); "
                "make_classification(n_samples=1000, n_features=20, n_informative=5, n_redundant=5, "
                "n_repeated=0, n_classes=2, random_state=42)",
        "sklearn_mutual_info_classif_random_state_42_nats": [float(s) for s in scores],
        "top5_desc": top5,
        "noise_free_nats": clean,
        "noise_free_definition": "columns scaled by std without centring (sklearn.preprocessing.scale(with_mean=False)), "
                                 "no noise, Ross (2014) estimator with k=3, clipped at 0",
    }


def dumps(doc):
    return json.dumps(doc, indent=1)


def seed_checks(doc):
    """(key, recomputed) for every example numpy/scipy can recompute from the file's inputs."""
    inp = doc["inputs"]
    out = {}

    def H(p, base=math.e):
        p = np.asarray(p, dtype=np.float64).ravel()
        p = p[p > 0]
        return float(-(p * np.log(p)).sum() / math.log(base))

    out["binary_entropy_max_bits"] = H([0.5, 0.5], 2)
    t = np.array(inp["joint_table"], dtype=np.float64)
    hx, hy, hxy = H(t.sum(1), 2), H(t.sum(0), 2), H(t, 2)
    out.update({"joint_H_X_bits": hx, "joint_H_Y_bits": hy, "joint_H_XY_bits": hxy,
                "joint_H_X_given_Y_bits": hxy - hy, "joint_H_Y_given_X_bits": hxy - hx,
                "joint_I_XY_bits": hx + hy - hxy})
    x = np.linspace(-5, 5, 1000)
    p = np.exp(-x ** 2 / 2)
    p /= p.sum()
    q = np.exp(-(x - 1) ** 2 / 2)
    q /= q.sum()
    eps = inp["epsilon_clip"]

    def kl(a, b):
        return float((a * np.log(a / b)).sum())

    def klc(a, b):
        a, b = np.clip(a, eps, 1), np.clip(b, eps, 1)
        return float((a * np.log(a / b)).sum())

    m = (p + q) / 2
    out.update({"gauss_KL_pq_nats_exact": kl(p, q), "gauss_KL_qp_nats_exact": kl(q, p),
                "gauss_KL_pq_nats_clipped": klc(p, q), "gauss_KL_qp_nats_clipped": klc(q, p),
                "gauss_JS_nats_exact": (kl(p, m) + kl(q, m)) / 2,
                "gauss_JS_nats_clipped": (klc(p, m) + klc(q, m)) / 2})

    def log_softmax(z):
        z = np.asarray(z, dtype=np.float64)
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))

    c = inp["ce_target_class"]
    out["ce_good_logits_nats"] = float(-log_softmax(inp["ce_good_logits"])[c])
    out["ce_bad_logits_nats"] = float(-log_softmax(inp["ce_bad_logits"])[c])
    r = inp["weather_umbrella_repeat"]
    w, u = np.array(inp["weather"] * r), np.array(inp["umbrella"] * r)
    joint = np.zeros((2, 2))
    for a, b in zip(w, u):
        joint[a, b] += 1
    joint /= joint.sum()
    out["mi_weather_umbrella_bits"] = H(joint.sum(1), 2) + H(joint.sum(0), 2) - H(joint, 2)
    out["entropy_fair_die_bits"] = H([1 / 6] * 6, 2)
    out["entropy_coin_0.8_bits"] = H([0.8, 0.2], 2)

    def gkl(m1, v1, m2, v2):
        return 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)

    out["kl_gauss_N01_to_N2var2_nats"] = gkl(0, 1, 2, 2)
    out["kl_gauss_N01_to_N2sd2_nats"] = gkl(0, 1, 2, 4)
    logits = np.array(inp["ls_logits_float32"], dtype=np.float32).astype(np.float64)
    tg = np.array(inp["ls_targets"])
    ls = log_softmax(logits)
    n, k = ls.shape
    onehot = np.zeros((n, k))
    onehot[np.arange(n), tg] = 1
    out["ls_plain_ce_nats"] = float(-(onehot * ls).sum(1).mean())
    for e in (0.1, 0.3):
        book = onehot * (1 - e) + (1 - onehot) * e / (k - 1)
        torch = onehot * (1 - e) + e / k
        out["ls_%g_textbook_nats" % e] = float(-(book * ls).sum(1).mean())
        out["ls_%g_torch_nats" % e] = float(-(torch * ls).sum(1).mean())
    conf = np.linspace(0.1, 0.99, 50)
    for i, name in ((20, "0.5"), (40, "0.9"), (49, "0.99")):
        cc = conf[i]
        out["confidence_loss_at_%s_nats" % name] = float(-log_softmax(np.log([cc, (1 - cc) / 2, (1 - cc) / 2]))[0])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare with the stored files; write nothing")
    args = ap.parse_args()
    print("numpy %s, scipy %s, scikit-learn %s" % (np.__version__, scipy.__version__, sklearn.__version__))
    ok = True

    text = csv_text()
    with gzip.open(CSV_GZ, "rt", newline="") as f:
        stored = f.read()
    if text == stored:
        print("same     %s (decompressed text)" % os.path.relpath(CSV_GZ, ROOT))
    elif args.check:
        print("DIFFERS  %s" % os.path.relpath(CSV_GZ, ROOT))
        ok = False
    else:
        with gzip.open(CSV_GZ, "wt", newline="") as f:
            f.write(text)
        print("wrote    %s" % os.path.relpath(CSV_GZ, ROOT))

    mi = dumps(mi_document(text))
    stored = open(MI_JSON).read() if os.path.exists(MI_JSON) else None
    if mi == stored:
        print("same     %s (byte for byte)" % os.path.relpath(MI_JSON, ROOT))
    elif args.check:
        print("DIFFERS  %s" % os.path.relpath(MI_JSON, ROOT))
        ok = False
    else:
        with open(MI_JSON, "w") as f:
            f.write(mi)
        print("wrote    %s" % os.path.relpath(MI_JSON, ROOT))

    seed = json.load(open(SEED_JSON))
    worst = 0.0
    for key, value in seed_checks(seed).items():
        ref = seed["examples"][key]
        rel = abs(value - ref) / max(abs(ref), 1e-300)
        worst = max(worst, rel)
        if rel > 1e-12:
            print("DIFFERS  seed_values.json %s: stored %r, recomputed %r" % (key, ref, value))
            ok = False
    missing = sorted(set(seed["examples"]) - set(seed_checks(seed)))
    print("checked  %s: %d values recomputed, largest relative difference %.1e%s"
          % (os.path.relpath(SEED_JSON, ROOT), len(seed["examples"]) - len(missing), worst,
             "; not recomputed: " + ", ".join(missing) if missing else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
