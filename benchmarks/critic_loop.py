"""``train.critic_loop='scan'`` against ``'unroll'`` for the WGAN-GP iteration of benchmarks/speed.py.

Both variants are built through ``ganjax.step.jit_train_step`` from experiments/wgan_gp_dcgan_cifar.py
and timed in interleaved rounds (so that both see the same machine load); medians are reported, with the
compile time (wall and CPU seconds) of each. ``train.critic_loop='auto'`` picks per backend from these
measurements (ganjax/step.py); run this on a new backend before changing that choice.

    PYTHONPATH=. python benchmarks/critic_loop.py [--rounds 4 --iters 2 --conv-impl auto]

The last line printed is JSON: {"<loop>_ms": ..., "<loop>_compile_s": ..., "scan_over_unroll": ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402

from benchmarks.speed import setup_step  # noqa: E402


def build(loop: str, conv_impl: str):
    step, state, batch = setup_step(conv_impl, loop)
    wall, cpu = time.perf_counter(), time.process_time()
    compiled = step.lower(state, batch).compile()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    state, metrics = compiled(state, batch)
    jax.block_until_ready(metrics)
    return compiled, state, batch, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=4)
    parser.add_argument('--iters', type=int, default=2)
    parser.add_argument('--conv-impl', default='auto')
    args = parser.parse_args()
    print(f'jax {jax.__version__} backend {jax.default_backend()}, load {os.getloadavg()[0]:.1f}, '
          f'conv_impl {args.conv_impl}, XLA_FLAGS={os.environ.get("XLA_FLAGS", "")!r}', flush=True)
    runs = {}
    for loop in ('scan', 'unroll'):
        compiled, state, batch, wall, cpu = build(loop, args.conv_impl)
        runs[loop] = {'compiled': compiled, 'state': state, 'batch': batch, 'times': []}
        print(f'{loop}: compile {wall:.1f} s wall, {cpu:.1f} s CPU', flush=True)
        runs[loop]['compile'] = wall
    for r in range(args.rounds):
        for loop, run in runs.items():
            for _ in range(args.iters):
                start = time.perf_counter()
                run['state'], metrics = run['compiled'](run['state'], run['batch'])
                jax.block_until_ready(metrics)
                run['times'].append(time.perf_counter() - start)
        print(f'round {r}: ' + ', '.join(f'{k} {1e3 * statistics.median(v["times"][-args.iters:]):.0f} ms'
                                         for k, v in runs.items()) + f' (load {os.getloadavg()[0]:.1f})',
              flush=True)
    result = {}
    for loop, run in runs.items():
        result[f'{loop}_ms'] = round(1e3 * statistics.median(run['times']), 1)
        result[f'{loop}_compile_s'] = round(run['compile'], 1)
    result['scan_over_unroll'] = round(result['scan_ms'] / result['unroll_ms'], 3)
    print(json.dumps(result))


if __name__ == '__main__':
    main()
