#!/usr/bin/env python3
"""Writes data/fashion-mnist-subset: the first 5,000 training and 1,000 test images of
Fashion-MNIST (with labels) as gzip IDX files, from Debian's dataset-fashion-mnist.

Usage: python3 scripts/make-subset.py [SOURCE_DIR] [TRAIN] [TEST]
"""
import gzip
import os
import struct
import sys

src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
n_train = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
n_test = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
dst = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "fashion-mnist-subset")
os.makedirs(dst, exist_ok=True)


def cut(name, n):
    with gzip.open(os.path.join(src, name + ".gz"), "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        body = data[16:16 + n * rows * cols]
        out = struct.pack(">IIII", magic, n, rows, cols) + body
    else:
        out = struct.pack(">II", magic, n) + data[8:8 + n]
    # mtime=0 keeps the output byte-for-byte reproducible.
    with gzip.GzipFile(os.path.join(dst, name + ".gz"), "wb", compresslevel=9, mtime=0) as g:
        g.write(out)


cut("train-images-idx3-ubyte", n_train)
cut("train-labels-idx1-ubyte", n_train)
cut("t10k-images-idx3-ubyte", n_test)
cut("t10k-labels-idx1-ubyte", n_test)
