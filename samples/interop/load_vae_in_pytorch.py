"""Load an InfoGpu VAE (model.safetensors) into PyTorch's examples/vae model.

usage: python3 load_vae_in_pytorch.py MODEL.safetensors [INPUT.npy]
Needs only PyTorch (no safetensors package): the reader below is the whole format.
With INPUT.npy (rows of pixels in [0, 1]) it prints mu and the reconstruction for z = mu as JSON.
"""
import json
import struct
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = bytearray(data[start:end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


class VAE(nn.Module):
    """PyTorch's examples/vae model, with its sizes as arguments (784-400-20 there)."""

    def __init__(self, input=784, hidden=400, latent=20):
        super().__init__()
        self.input = input
        self.fc1 = nn.Linear(input, hidden)
        self.fc21 = nn.Linear(hidden, latent)
        self.fc22 = nn.Linear(hidden, latent)
        self.fc3 = nn.Linear(latent, hidden)
        self.fc4 = nn.Linear(hidden, input)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))


def load(path):
    state = {k: v for k, v in read_safetensors(path).items() if k.startswith("fc")}  # drop Adam state and counters
    hidden, input = state["fc1.weight"].shape
    latent = state["fc21.weight"].shape[0]
    model = VAE(input, hidden, latent)
    model.load_state_dict(state)  # strict: every name and shape must match
    return model.eval()


if __name__ == "__main__":
    model = load(sys.argv[1])
    if len(sys.argv) > 2:
        x = torch.from_numpy(np.load(sys.argv[2]).astype(np.float32))
        with torch.no_grad():
            mu, logvar = model.encode(x)
            recon = model.decode(mu)
        print(json.dumps({"mu": mu.flatten().tolist(), "logvar": logvar.flatten().tolist(), "reconstruction": recon.flatten().tolist()}))
    else:
        print(model)
