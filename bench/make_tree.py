#!/usr/bin/env python3
"""Writes a deterministic benchmark tree: N files totalling about SIZE_MB, in nested
directories, half text-like (compressible) and half pseudo-random (incompressible), with
some symlinks and hardlinks. The same arguments always give the same bytes.
  make_tree.py ROOT FILES SIZE_MB        the tree
  make_tree.py --one-file ROOT SIZE_MB   ROOT/big.bin alone, SIZE_MB of pseudo-random bytes"""
import os
import random
import sys


def one_file(root, size_mb):
    # 1 MiB blocks from the same generator: as incompressible as the tree's .bin files.
    rng = random.Random(20261203)
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        for _ in range(size_mb):
            f.write(rng.randbytes(1024 * 1024))


def main():
    if sys.argv[1] == "--one-file":
        one_file(sys.argv[2], int(sys.argv[3]))
        return
    root, files, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(20261122)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(2000)]
    avg = size_mb * 1024 * 1024 // files
    for i in range(files):
        d = os.path.join(root, f"d{i % 37:02d}", f"s{i % 11:02d}")
        os.makedirs(d, exist_ok=True)
        size = max(1, int(rng.expovariate(1.0 / avg)))
        if i % 2:
            data = rng.randbytes(size)
        else:
            chunks, n = [], 0
            while n < size:
                w = rng.choice(words)
                chunks.append(w)
                n += len(w) + 1
            data = b" ".join(chunks)[:size]
        path = os.path.join(d, f"f{i:05d}.{'bin' if i % 2 else 'txt'}")
        with open(path, "wb") as f:
            f.write(data)
        if i % 500 == 0:
            os.symlink(f"f{i:05d}.{'bin' if i % 2 else 'txt'}", os.path.join(d, f"l{i:05d}"))
        if i % 700 == 0:
            os.link(path, os.path.join(d, f"h{i:05d}"))


if __name__ == "__main__":
    main()
