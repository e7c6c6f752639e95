"""How much slower the toy-ring loop is with TensorBoard logging (scalars and a sample picture) than without.

The toy-ring recipe (``experiments/toy_ring.py``) is built and compiled once. Intervals of ``--every``
steps (default 1000, the recipe's ``train.log_every``) then run in pairs, ``--pairs`` times, the order
inside a pair alternating, as in ``benchmarks/checkpoint_overhead.py``. Both arms end their interval with
the train loop's own ``Progress.log`` (the printed line and metrics.jsonl, as before this issue); the
logging arm gives it a real ``ganjax.summary.SummaryWriter`` (so it also writes the scalars to TensorBoard)
and adds a ``ProgressPictures`` picture (the EMA generator's samples on 1000 fixed latents, a scatter
picture to TensorBoard and to ``samples_<step>.png``), i.e. ``eval.image_every_steps`` equal to the log
interval; the other arm's writer is the ``NullWriter`` of processes other than 0. Both arms wait for their
last step.

Reported: the overhead of all pairs together (sum with / sum without - 1), the median over pairs with its
interquartile range, and the cost of one log (mean extra wall and CPU time per pair). On a loaded machine the pairs
scatter by more than the effect, so the logging calls are also timed on their own (the picture's sampling
included, waited for): their median over the median interval without logging is the steadier figure.

    PYTHONPATH=. python benchmarks/logging_overhead.py [--pairs 10] [--every 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

from experiments.toy_ring import get_config
from ganjax import data, games, summary
from ganjax.train import Progress, eval_inputs, generate, sampling_variables


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--pairs', type=int, default=10)
    p.add_argument('--every', type=int, default=1000)
    a = p.parse_args()
    config = get_config()
    source = data.get_source(config.data, config.seed)
    game, _, state, step_fn = games.setup(config, games.DataSpec(source.example_shape, source.num_classes))
    step_fn = jax.jit(step_fn, donate_argnums=0)
    sample_fn = games.make_sample_fn(game)
    batches = source.iterate(config.train.batch_size * game.batch_splits)
    z, labels = eval_inputs(config, game, source.num_classes)
    pictures = summary.ProgressPictures(a.every, source, z, labels)
    step = 0

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        writer = summary.SummaryWriter(workdir / summary.TENSORBOARD_DIR)
        arms = {False: Progress(config.train.num_steps, 0, workdir / 'plain.jsonl', summary.NullWriter()),
                True: Progress(config.train.num_steps, 0, workdir / 'logged.jsonl', writer)}

        log_times = []

        def interval(logged: bool) -> tuple[float, float]:
            nonlocal state, step
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(a.every):
                step += 1
                state, metrics = step_fn(state, next(batches))
            with contextlib.redirect_stdout(io.StringIO()):  # the printed line, in both arms
                arms[logged].log(step, {k: float(v) for k, v in jax.device_get(metrics).items()})
            if logged:
                t_log = time.perf_counter()
                writer.write_scalars(step, metrics | {'steps_per_s': 0.0})  # what Progress.log adds, alone
                t_picture = time.perf_counter()
                pictures.write(step, generate(sample_fn, sampling_variables(game, state), *pictures.inputs),
                               workdir, writer)
                log_times.append((t_picture - t_log, time.perf_counter() - t_picture))
            jax.block_until_ready(state)
            return time.perf_counter() - t0, time.process_time() - c0

        for _ in range(2):  # compile (the sampler too), warm up the writer
            interval(True), interval(False)
        times = {False: [], True: []}
        for i in range(a.pairs):
            for logged in ((False, True) if i % 2 == 0 else (True, False)):
                times[logged].append(interval(logged))
        writer.close()
    (without, cpu_without), (with_, cpu_with) = (np.array(times[k]).T for k in (False, True))
    ratios = with_ / without - 1
    q1, q3 = np.percentile(ratios, [25, 75])
    print(f'one train step: {1e3 * without.sum() / (a.pairs * a.every):.2f} ms; one log (scalars + picture) '
          f'costs {1e3 * (with_ - without).mean():.1f} ms of wall time and {1e3 * (cpu_with - cpu_without).mean():.1f} '
          f'ms of CPU time (all threads; means over pairs); CPU-time overhead {100 * (cpu_with.sum() / cpu_without.sum() - 1):+.2f}%')
    print(f'TensorBoard scalars + picture every {a.every} steps, {a.pairs} pairs: overhead '
          f'{100 * (with_.sum() / without.sum() - 1):+.2f}% over all pairs; median {100 * np.median(ratios):+.2f}% '
          f'(interquartile {100 * q1:+.2f}% to {100 * q3:+.2f}%)')
    scalars_ms, picture_ms = 1e3 * np.median(np.array(log_times[-a.pairs:]), axis=0)
    interval_ms = 1e3 * np.median(without)
    print(f'the logging calls alone (medians): TensorBoard scalars {scalars_ms:.2f} ms '
          f'({100 * scalars_ms / interval_ms:.3f}% of a {a.every}-step interval), picture {picture_ms:.1f} ms '
          f'({100 * picture_ms / interval_ms:.2f}%)')


if __name__ == '__main__':
    main()
