#!/usr/bin/env python3
"""Writes data/digits (scikit-learn's load_digits as IDX files) and
tests/InfoGpu.Tests/Reference/sklearn_digits_rbm.json (BernoulliRBM in test_fit's setting, seeds
0-19, on the same byte/255 values), both through benchmarks/peers/sklearn_rbm_digits.py.

Usage: /usr/bin/python3 scripts/make-digits.py
"""
import os
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
peer = os.path.join(root, "benchmarks", "peers", "sklearn_rbm_digits.py")
subprocess.run([sys.executable, peer, "--write-idx", os.path.join(root, "data", "digits")], check=True)
with open(os.path.join(root, "tests", "InfoGpu.Tests", "Reference", "sklearn_digits_rbm.json"), "w") as f:
    subprocess.run([sys.executable, peer, "--seeds", "0-19", "--threads", "1", "--json"], check=True, stdout=f)
