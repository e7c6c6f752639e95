"""A/B speed of the WGAN-GP iteration of two checkouts of ganjax (say, before and after a change).

Two checkouts cannot be imported in one process, so each runs in its own worker process, built from its
own ``benchmarks/speed.py:setup_step`` (the issue's WGAN-GP recipe through the factory the train loop
uses). The workers compile one after the other (compile times are measured alone), then take turns
timing ``--iters`` iterations, in the order A B B A, A B B A, ... so that both see the same machine load
and its drift. Reported: each side's compile time, the median per-iteration time of each, and the median
of the per-round ratios new/old.

    python benchmarks/ab_commits.py --old ../ganjax-old --new . [--rounds 8 --iters 3]

The last line printed is JSON with the keys old_ms, new_ms, ratio, old_compile_s, new_compile_s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r'''
import sys, time, json
import jax
from benchmarks.speed import setup_step
step, state, batch = setup_step('auto', 'auto')
t0 = time.perf_counter()
compiled = step.lower(state, batch).compile()
compile_s = time.perf_counter() - t0
state, metrics = compiled(state, batch)
jax.block_until_ready(metrics)
print(json.dumps({'compile_s': compile_s}), flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        t = time.perf_counter()
        state, metrics = compiled(state, batch)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - t)
    print(json.dumps({'times': times}), flush=True)
'''


def start(tree: Path) -> tuple[subprocess.Popen, float]:
    env = {**os.environ, 'PYTHONPATH': str(tree)}
    proc = subprocess.Popen([sys.executable, '-c', WORKER], cwd=tree, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    return proc, json.loads(proc.stdout.readline())['compile_s']


def time_iters(proc: subprocess.Popen, iters: int) -> list[float]:
    proc.stdin.write(f'{iters}\n')
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())['times']


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--old', required=True, type=Path, help='checkout of the baseline')
    parser.add_argument('--new', default=Path('.'), type=Path, help='checkout of the change')
    parser.add_argument('--rounds', type=int, default=8)
    parser.add_argument('--iters', type=int, default=3)
    args = parser.parse_args()
    print(f'load {os.getloadavg()[0]:.1f}; old {args.old.resolve()}, new {args.new.resolve()}', flush=True)
    old, old_compile = start(args.old.resolve())
    new, new_compile = start(args.new.resolve())
    print(f'compile: old {old_compile:.2f} s, new {new_compile:.2f} s', flush=True)
    times: dict[str, list[float]] = {'old': [], 'new': []}
    ratios = []
    for r in range(args.rounds):
        order = (('old', old), ('new', new)) if r % 2 == 0 else (('new', new), ('old', old))
        medians = {}
        for name, proc in order:
            t = time_iters(proc, args.iters)
            times[name] += t
            medians[name] = statistics.median(t)
        ratios.append(medians['new'] / medians['old'])
        print(f"round {r}: old {1e3 * medians['old']:.0f} ms, new {1e3 * medians['new']:.0f} ms, "
              f"ratio {ratios[-1]:.3f} (load {os.getloadavg()[0]:.1f})", flush=True)
    for proc in (old, new):
        proc.stdin.close()
        proc.wait()
    result = {'old_ms': round(1e3 * statistics.median(times['old']), 1),
              'new_ms': round(1e3 * statistics.median(times['new']), 1),
              'ratio': round(statistics.median(ratios), 4),
              'old_compile_s': round(old_compile, 2), 'new_compile_s': round(new_compile, 2)}
    print(json.dumps(result))


if __name__ == '__main__':
    main()
