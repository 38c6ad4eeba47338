"""Set a scikit-learn BernoulliRBM from `infogpu rbm export --out rbm.npz`.

usage: python3 rbm_in_sklearn.py rbm.npz [INPUT.npy]
With INPUT.npy (rows of visible values) it prints transform(X) (hidden probabilities) as JSON.
"""
import json
import sys

import numpy as np
from sklearn.neural_network import BernoulliRBM


def load(path):
    arrays = np.load(path)
    rbm = BernoulliRBM(n_components=arrays["components_"].shape[0])
    rbm.components_ = arrays["components_"]
    rbm.intercept_hidden_ = arrays["intercept_hidden_"]
    rbm.intercept_visible_ = arrays["intercept_visible_"]
    rbm.n_features_in_ = arrays["components_"].shape[1]
    return rbm


if __name__ == "__main__":
    rbm = load(sys.argv[1])
    if len(sys.argv) > 2:
        x = np.load(sys.argv[2])
        print(json.dumps({"hidden": rbm.transform(x).flatten().tolist()}))
    else:
        print(rbm, rbm.components_.shape)
