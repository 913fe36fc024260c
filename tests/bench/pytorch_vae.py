"""PyTorch reference for `cargo xtask bench`: the same VAE as vae-core, trained one epoch the
same way as `trainer` (batch 128, Adam 1e-3, dynamic binarisation, 2 threads), then scored on
the test set, so the epoch times compare like for like.

With --fused, Adam runs as PyTorch's fused kernel (`torch.optim.Adam(..., fused=True)`, one
kernel over all parameters, as our FusedAdam is fused); the bench times both and compares with the
faster.

Prints one JSON object: {"epoch_s", "images_per_s", "test_elbo", "threads", "torch", "fused"}.
Usage: python pytorch_vae.py DATA_DIR [--threads 2] [--epochs 1] [--fused]
"""

import argparse
import gzip
import json
import os
import struct
import time

import torch
from torch import nn
import torch.nn.functional as F


def read_idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: not an IDX image file"
        data = f.read(count * rows * cols)
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(count, rows * cols).float() / 255.0


def find(data_dir, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            return path
    raise SystemExit(f"{name} not found in {data_dir}")


class Vae(nn.Module):
    """784-512-256-(2+2) encoder, mirrored decoder, ReLU: vae-core's VaeConfig defaults."""

    def __init__(self, hidden=(512, 256), latent=2, pixels=784):
        super().__init__()
        widths = [pixels, *hidden]
        self.encoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.mu = nn.Linear(widths[-1], latent)
        self.logvar = nn.Linear(widths[-1], latent)
        dec = [latent, *reversed(hidden), pixels]
        self.decoder = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dec, dec[1:]))

    def encode(self, x):
        for layer in self.encoder:
            x = F.relu(layer(x))
        return self.mu(x), self.logvar(x)

    def decode_logits(self, z):
        for i, layer in enumerate(self.decoder):
            z = layer(z)
            if i < len(self.decoder) - 1:
                z = F.relu(z)
        return z

    def terms(self, x):
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(self.decode_logits(z), x, reduction="none").sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
        return recon.mean(), kl.mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--fused", action="store_true", help="PyTorch's fused Adam kernel")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    train = read_idx_images(find(args.data_dir, "train-images-idx3-ubyte"))
    test = torch.bernoulli(read_idx_images(find(args.data_dir, "t10k-images-idx3-ubyte")))
    model = Vae()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=args.fused)
    batch = 128
    times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(train))
        for i in range(0, len(train) - batch + 1, batch):
            x = torch.bernoulli(train[order[i : i + batch]])
            recon, kl = model.terms(x)
            optimizer.zero_grad()
            (recon + kl).backward()
            optimizer.step()
        with torch.no_grad():
            recon, kl = model.terms(test)
        times.append(time.perf_counter() - start)
    epoch_s = min(times)
    print(json.dumps({
        "epoch_s": epoch_s,
        "images_per_s": (len(train) // batch * batch) / epoch_s,
        "test_elbo": -(recon + kl).item(),
        "threads": args.threads,
        "torch": torch.__version__,
        "fused": args.fused,
    }))


if __name__ == "__main__":
    main()
