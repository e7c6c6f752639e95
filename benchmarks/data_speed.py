"""Input-pipeline speed on CIFAR-size images held in memory, and whether it keeps a DCGAN step fed.

1. Throughput: images/s of ``ImageSource.batch`` (index, gather, random flip, uint8 -> float32 [-1, 1]) in
   one thread, for the WGAN-GP step's 320 examples (batch 64 x 5 critic steps) and DCGAN's 64.
2. Fed: a jitted DCGAN step (32x32x3, batch 64, 1 critic step) consumes the prefetched iterator; we time
   how long ``next()`` blocks per step after warm-up. "Never waits" means that wait is ~0 next to the step.

Run from the project root:
    PYTHONPATH=. python benchmarks/data_speed.py [--data ../shared/data/cifar10-test-jpeg/cifar10_test.npz]
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from experiments.base import get_config
from ganjax import data, games


def throughput(source, examples_per_step: int, steps: int) -> float:
    source.batch(0, examples_per_step)
    t0 = time.perf_counter()
    for s in range(steps):
        source.batch(s, examples_per_step)
    return steps * examples_per_step / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--data', default='../shared/data/cifar10-test-jpeg/cifar10_test.npz')
    p.add_argument('--steps', type=int, default=10, help='timed training steps')
    args = p.parse_args()

    config = get_config()
    config.data.path = args.data
    config.data.random_flip = True
    config.data.conditional = False
    config.model.name = 'dcgan'
    config.model.width = 64
    config.model.latent_dim = 100
    config.train.batch_size = 64
    t0 = time.perf_counter()
    source = data.get_source(config.data, config.seed)
    print(f'load {len(source)} images {source.example_shape} from {args.data}: {time.perf_counter() - t0:.2f} s')
    for e in (64, 320):
        print(f'pipeline, one thread, {e} examples/step: {throughput(source, e, 50):,.0f} images/s')

    _, _, state, step = games.setup(config, games.DataSpec(source.example_shape, source.num_classes))
    step = jax.jit(step, donate_argnums=0)
    batches = source.iterate(config.train.batch_size, start_step=0)
    for _ in range(3):  # compile and warm up
        state, metrics = step(state, next(batches))
    jax.block_until_ready(metrics)
    waits, total = [], time.perf_counter()
    for _ in range(args.steps):
        t = time.perf_counter()
        batch = next(batches)
        waits.append(time.perf_counter() - t)
        state, metrics = step(state, batch)
        jax.block_until_ready(metrics)
    total = (time.perf_counter() - total) / args.steps
    waits = np.array(waits) * 1e3
    print(f'DCGAN 32x32 step (batch 64): {total * 1e3:.1f} ms/step; next() blocked {waits.mean():.3f} ms mean, '
          f'{waits.max():.3f} ms max over {args.steps} steps')


if __name__ == '__main__':
    main()
