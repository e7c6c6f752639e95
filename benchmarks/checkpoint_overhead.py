"""How much slower a toy-ring run is with a checkpoint every 100 steps than with none.

The toy-ring recipe (``experiments/toy_ring.py``: MLP width 128, depth 3, batch 256, R1) is built once and
compiled once. Then intervals of ``--every`` steps run in pairs, one without and one with a checkpoint,
``--pairs`` times, the order inside a pair alternating. The interval with a checkpoint starts with the train
loop's own ``ganjax.train.save_checkpoint`` (the loop waits for the packing and host copy; Orbax writes
in the background while the interval's steps run) and ends once that save is on disk, so its whole cost
is counted; both kinds of interval end by waiting for their last step. Both run
``NonFiniteWatch.update`` every step, as the train loop does.

Short intervals, alternated, put both arms under the same machine load: on a shared VM the load drifts
over seconds, which made longer blocks disagree by +-15%. Reported: the overhead of all pairs together
(sum of times with / sum without - 1: what a run of that many steps pays), the median over pairs and its
interquartile range, and the cost of one save (mean extra time per pair).

    PYTHONPATH=. python benchmarks/checkpoint_overhead.py [--pairs 60] [--every 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import jax
import numpy as np

from experiments.toy_ring import get_config
from ganjax import checkpoint, data, failsafe, games
from ganjax.train import save_checkpoint


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--pairs', type=int, default=60)
    p.add_argument('--every', type=int, default=100)
    a = p.parse_args()
    config = get_config()
    config.checkpoint.every_steps = a.every
    source = data.get_source(config.data, config.seed)
    game, _, state, step_fn = games.setup(config, games.DataSpec(source.example_shape, source.num_classes))
    step_fn = jax.jit(step_fn, donate_argnums=0)
    batches = source.iterate(config.train.batch_size * game.batch_splits)
    watch = failsafe.NonFiniteWatch('stop')
    step = 0

    with tempfile.TemporaryDirectory() as tmp, checkpoint.Checkpoints(tmp, config, source.example_shape,
                                                                       source.num_classes, game.sampler) as ckpt:
        def interval(save: bool) -> tuple[float, float]:
            nonlocal state, step
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(a.every):
                step += 1
                state, metrics = step_fn(state, next(batches))
                watch.update(metrics, step)
                if save and i == 0:
                    save_checkpoint(ckpt, watch, step, state)
            jax.block_until_ready(state)
            ckpt.wait()
            return time.perf_counter() - t0, time.process_time() - c0

        for _ in range(3):  # compile, warm up Orbax (thread pools, first directories)
            interval(True), interval(False)
        times = {False: [], True: []}
        for i in range(a.pairs):
            for save in ((False, True) if i % 2 == 0 else (True, False)):
                times[save].append(interval(save))
    (without, cpu_without), (with_, cpu_with) = (np.array(times[s]).T for s in (False, True))
    ratios = with_ / without - 1
    q1, q3 = np.percentile(ratios, [25, 75])
    print(f'one train step: {1e3 * without.sum() / (a.pairs * a.every):.2f} ms; one save costs '
          f'{1e3 * (with_ - without).mean():.1f} ms of wall time and {1e3 * (cpu_with - cpu_without).mean():.1f} '
          'ms of CPU time (all threads; means over pairs)')
    print(f'checkpoint every {a.every} steps, {a.pairs} pairs: overhead {100 * (with_.sum() / without.sum() - 1):+.1f}%'
          f' over all pairs; median {100 * np.median(ratios):+.1f}% (interquartile '
          f'{100 * q1:+.1f}% to {100 * q3:+.1f}%)')


if __name__ == '__main__':
    main()
