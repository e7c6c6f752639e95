"""How much slower a toy-ring run is with a checkpoint every 100 steps than with none.

The toy-ring recipe (``experiments/toy_ring.py``: MLP width 128, depth 3, batch 256, R1) is built once and
compiled once; then blocks of ``--block`` steps run alternately without and with checkpointing (the train
loop's own calls: ``NonFiniteWatch.update`` every step in both, ``ganjax.train.save_checkpoint`` every 100
steps in the second), ``--pairs`` times. Alternating blocks in one process cancels most of the drift in
machine load that separate runs suffer on a shared CPU; the figure is the median over pairs of
``time(with) / time(without) - 1``, in wall time and in the process's CPU time (all threads: the steps,
XLA's pool and Orbax's writer threads), which a loaded shared machine disturbs much less than wall time.
The last save is waited for inside its block, so the background writing is counted too.

    PYTHONPATH=. python benchmarks/checkpoint_overhead.py [--block 500] [--pairs 8] [--every 100]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import jax

from experiments.toy_ring import get_config
from ganjax import checkpoint, data, failsafe, models
from ganjax.state import create_state
from ganjax.step import jit_train_step
from ganjax.train import save_checkpoint


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--block', type=int, default=500)
    p.add_argument('--pairs', type=int, default=8)
    p.add_argument('--every', type=int, default=100)
    a = p.parse_args()
    config = get_config()
    config.checkpoint.every_steps = a.every
    source = data.get_source(config.data, config.seed)
    G, D = models.get_models(config.model, source.example_shape, source.num_classes)
    step_fn = jit_train_step(config, G, D)
    state = create_state(config, G, D, source.example_shape, source.num_classes)
    batches = source.iterate(config.train.batch_size * config.train.d_steps)
    watch = failsafe.NonFiniteWatch('stop')
    step = 0
    for _ in range(20):  # compile and warm up
        step += 1
        state, metrics = step_fn(state, next(batches))
        watch.update(metrics, step)
    jax.block_until_ready(state)

    with tempfile.TemporaryDirectory() as tmp, checkpoint.Checkpoints(tmp, config, source.example_shape,
                                                                       source.num_classes) as ckpt:
        def block(save: bool) -> tuple[float, float]:
            nonlocal state, step
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(a.block):
                step += 1
                state, metrics = step_fn(state, next(batches))
                watch.update(metrics, step)
                if save and ckpt.due(step):
                    save_checkpoint(ckpt, watch, step, state)
            jax.block_until_ready(state)
            ckpt.wait()
            return time.perf_counter() - t0, time.process_time() - c0

        block(True)  # warm up Orbax (thread pools, first directory)
        wall, cpu = [], []
        for i in range(a.pairs):
            order = (False, True) if i % 2 == 0 else (True, False)
            times = {s: block(s) for s in order}
            wall.append(times[True][0] / times[False][0] - 1)
            cpu.append(times[True][1] / times[False][1] - 1)
            print(f'pair {i}: without {a.block / times[False][0]:7.1f} steps/s, with '
                  f'{a.block / times[True][0]:7.1f} steps/s (wall {100 * wall[-1]:+.1f}%, '
                  f'CPU time {100 * cpu[-1]:+.1f}%)', flush=True)
        # the non-finite watch runs in both arms; its own cost per step, alone:
        t0 = time.perf_counter()
        for i in range(2000):
            watch.update(metrics, step + i)
        jax.block_until_ready(watch._record)
        watch_us = (time.perf_counter() - t0) / 2000 * 1e6
        t0 = time.perf_counter()
        for i in range(200):
            state, metrics = step_fn(state, next(batches))
        jax.block_until_ready(state)
        step_us = (time.perf_counter() - t0) / 200 * 1e6
    print(f'NonFiniteWatch.update: {watch_us:.0f} us per call; one train step: {step_us:.0f} us')
    for name, r in (('wall time', wall), ('CPU time (all threads)', cpu)):
        print(f'checkpoint every {a.every} steps, {name}: median {100 * statistics.median(r):+.1f}% '
              f'(min {100 * min(r):+.1f}%, max {100 * max(r):+.1f}%, {a.pairs} pairs of {a.block} steps)')

if __name__ == '__main__':
    main()
