"""Mode coverage of the toy recipes over seeds, through the real CLI, with wall time per run.

    python benchmarks/toy_quality.py --experiment=toy_ring --seeds=0,1,2,3,4 [--mode=sharded --devices=8]

Prints one markdown row per seed (modes, high-quality fraction, reverse KL, wall seconds including
start-up and compile), the mean row, and a final JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--experiment', default='toy_ring')
    p.add_argument('--seeds', default='0,1,2,3,4')
    p.add_argument('--mode', default='single', choices=['single', 'sharded', 'pmap'])
    p.add_argument('--devices', type=int, default=1, help='emulated CPU devices (XLA_FLAGS)')
    p.add_argument('--extra', nargs='*', default=[], help='more --config.KEY=VALUE overrides')
    args = p.parse_args()
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    if args.devices > 1:
        env['XLA_FLAGS'] = f'--xla_force_host_platform_device_count={args.devices}'
    rows = []
    print(f'| {args.experiment} seed | mode | modes | hq_fraction | reverse_kl | wall s |')
    print('|---|---|---|---|---|---|')
    for seed in [int(s) for s in args.seeds.split(',')]:
        with tempfile.TemporaryDirectory() as workdir:
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, '-m', 'ganjax.main', f'--config=experiments/{args.experiment}.py',
                                f'--workdir={workdir}', f'--config.seed={seed}',
                                f'--config.parallel.mode={args.mode}', *args.extra],
                               cwd=ROOT, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if r.returncode:
                sys.exit(f'seed {seed} failed:\n{r.stderr[-2000:]}')
            m = json.loads((Path(workdir) / 'summary.json').read_text())['metrics']
        rows.append({**m, 'wall_s': wall})
        print(f"| {seed} | {args.mode} | {m['modes']:.0f} | {m['hq_fraction']:.3f} | {m['reverse_kl']:.4f} "
              f'| {wall:.0f} |', flush=True)
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
    print(f"| mean | {args.mode} | {mean['modes']:.2f} | {mean['hq_fraction']:.3f} | {mean['reverse_kl']:.4f} "
          f"| {mean['wall_s']:.0f} |")
    print(json.dumps({'experiment': args.experiment, 'mode': args.mode, **mean, 'runs': rows}))


if __name__ == '__main__':
    main()
