"""Stabilisers against the baseline on one protocol per benchmark (issue 17), through the real CLI.

    python benchmarks/stabilisers.py toy [--steps=2000] [--seeds=0,1,2] [--options=baseline,pack2,...]
    python benchmarks/stabilisers.py stacked [--steps=10000] [--seeds=0,1,2] [--options=...] [--num-samples=26000]
    python benchmarks/stabilisers.py lowdata [--steps=10000] [--seeds=0,1,2] [--num-samples=10000]
    python benchmarks/stabilisers.py projected [--steps=...] [--projected-steps=...] [--num-samples=10000]

* ``toy``: the 5x5 grid (``experiments/toy_grid.py``) *without* its R1 penalty (``penalty.name=none``), each
  option on top; modes, high-quality fraction and reverse KL from the run's summary (2,500 samples),
  one markdown row per option (mean ± std over seeds).
* ``stacked``: Stacked MNIST (``experiments/stacked_mnist.py``) per option through ``benchmarks/quality.py``
  (26,000 samples; modes of 1000 and KL with the quality issue's classifier).
* ``lowdata``: Fashion-MNIST capped at 2,000 training images (``data.max_examples=2000``): no
  augmentation, DiffAugment, ADA; FID/KID/PR of 10k samples against the 10k test images.
* ``projected``: Projected GAN (``model.name=projected``, FID Inception stem as its frozen features, hinge
  loss) and the best unconditional DCGAN recipe (``fashion_mnist_minimax``) it otherwise shares (``--options``:
  ``dcgan``, ``projected``), FID/KID/PR and the Fréchet distance of the Fashion-MNIST classifier's features
  (``ganjax.metrics.classifier.features``), with each run's wall time: give each the steps that fit the
  same CPU time (``--projected-steps``; Projected GAN's EMA horizon is scaled by the same ratio). FID is
  biased in Projected GAN's favour when its features are the FID network's (Kynkäänniemi et al. 2023): read
  KID, PR and the classifier distance beside it.

Each of ``stacked``/``lowdata``/``projected`` prints ``benchmarks/quality.py`` rows (``--no-append``) per
option; ``--dry-run`` prints the commands instead of running them.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.quality import child_env, mean_std, samples_file  # noqa: E402

FASHION = '/usr/share/datasets/fashion-mnist'
MNIST = str(ROOT.parent / 'shared' / 'data' / 'mnist')
DCGAN = 'fashion_mnist_dcgan_r1'  # the unconditional DCGAN recipe the low-data options sit on
BEST_DCGAN = 'fashion_mnist_minimax'  # the best measured unconditional DCGAN recipe (FID 55.4): Projected GAN's peer

S = 'stabilise.'
# name -> overrides; the toy grid's options (vectors: no augmentation, bCR or Projected GAN there)
TOY_OPTIONS: dict[str, list[str]] = {
    'baseline': [],
    'feature_matching': [f'{S}feature_matching=1.0'],
    'minibatch_discrimination': [f'{S}minibatch_kernels=16', f'{S}minibatch_kernel_dim=5'],
    'minibatch_stddev': [f'{S}minibatch_stddev=4'],
    'historical_averaging': [f'{S}historical_averaging=0.001'],
    'virtual_batch_norm': [f'{S}virtual_batch_norm=64'],
    'unrolled5': [f'{S}unrolled_steps=5'],
    'replay': [f'{S}replay_fraction=0.5', f'{S}replay_size=5120'],
    'pack2': [f'{S}pack=2'],
    'pack4': [f'{S}pack=4'],
    'mode_seeking': [f'{S}mode_seeking=1.0'],
    # Metz et al.'s learning rate (Adam 1e-4) instead of the grid recipe's 1e-3, with and without unrolling
    'baseline_lr1e-4': ['train.g_lr=1e-4', 'train.d_lr=1e-4'],
    'unrolled5_lr1e-4': [f'{S}unrolled_steps=5', 'train.g_lr=1e-4', 'train.d_lr=1e-4'],
}
IMAGE_OPTIONS: dict[str, list[str]] = {
    **{k: v for k, v in TOY_OPTIONS.items() if k not in (
        'virtual_batch_norm', 'pack4', 'minibatch_discrimination', 'baseline_lr1e-4', 'unrolled5_lr1e-4')},
    'minibatch_discrimination': [f'{S}minibatch_kernels=32', f'{S}minibatch_kernel_dim=8'],
    'consistency': [f'{S}consistency=10.0'],
    'consistency_translate': [f'{S}consistency=10.0', f'{S}consistency_flip=False'],  # bCR without mirroring
    'diffaugment': [f'{S}diffaugment=color,translation,cutout'],
    'ada': [f'{S}ada_target=0.6'],
    'virtual_batch_norm': [f'{S}virtual_batch_norm=64', 'model.g_batch_norm=False'],
    'best': [],  # experiments/stacked_mnist_best.py
}


def _flags(overrides: list[str]) -> list[str]:
    return [f'--config.{o}' for o in overrides]


def toy(args: argparse.Namespace) -> None:
    names = args.options.split(',') if args.options else list(TOY_OPTIONS)
    env = child_env()
    base = ['--config.penalty.name=none', f'--config.train.num_steps={args.steps}',
            '--config.checkpoint.every_steps=0', f'--config.train.log_every={args.steps}']
    print(f'| option (toy grid, no penalty, {args.steps} steps) | modes (of 25) | hq_fraction | reverse_kl | '
          'wall s/run | overrides |')
    print('|---|---|---|---|---|---|', flush=True)
    results = {}
    for name in names:
        rows = []
        for seed in [int(s) for s in args.seeds.split(',')]:
            with tempfile.TemporaryDirectory() as workdir:
                cmd = [sys.executable, '-m', 'ganjax.main', '--config=experiments/toy_grid.py', f'--workdir={workdir}',
                       f'--config.seed={seed}', *base, *_flags(TOY_OPTIONS[name])]
                if args.dry_run:
                    print(shlex.join(cmd))
                    continue
                t0 = time.perf_counter()
                r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
                if r.returncode:
                    sys.exit(f'{name} seed {seed} failed:\n{r.stderr[-2000:]}')
                m = json.loads((Path(workdir) / 'summary.json').read_text())['metrics']
                rows.append({**m, 'wall_s': time.perf_counter() - t0})
        if args.dry_run:
            continue
        results[name] = rows
        col = lambda k: [r[k] for r in rows]
        print(f"| {name} | {mean_std(col('modes'), '.1f')} | {mean_std(col('hq_fraction'), '.3f')} | "
              f"{mean_std(col('reverse_kl'), '.3f')} | {np.mean(col('wall_s')):.0f} | "
              f"{' '.join(TOY_OPTIONS[name]) or '-'} |", flush=True)
    if results:
        print(json.dumps({'steps': args.steps, 'seeds': args.seeds, 'results': results}))


def _quality(experiment: str, seeds: str, num_samples: int, reference: str, extra: list[str],
             args: argparse.Namespace, more: list[str] = ()) -> None:
    cmd = [sys.executable, 'benchmarks/quality.py', f'--experiment={experiment}', f'--seeds={seeds}',
           f'--num-samples={num_samples}', f'--reference={reference}', '--no-append', *more, '--extra', *extra]
    print('$', shlex.join(cmd), flush=True)
    if not args.dry_run:
        subprocess.run(cmd, cwd=ROOT, env=child_env(), check=True)


def stacked(args: argparse.Namespace) -> None:
    """Stacked MNIST per option: the MNIST test digits offline (the only MNIST on these machines)."""
    names = args.options.split(',') if args.options else list(IMAGE_OPTIONS)
    data = [f'--config.data.path={args.mnist}', '--config.data.split=test', f'--config.train.num_steps={args.steps}',
            f'--config.checkpoint.every_steps={args.steps}']
    for name in names:
        experiment = 'stacked_mnist_best' if name == 'best' else 'stacked_mnist'
        print(f'### {name}', flush=True)
        _quality(experiment, args.seeds, args.num_samples or 26000, args.mnist, data + _flags(IMAGE_OPTIONS[name]),
                 args)


def lowdata(args: argparse.Namespace) -> None:
    """Fashion-MNIST with 2,000 training images: none vs DiffAugment vs ADA."""
    data = [f'--config.data.path={FASHION}', '--config.data.max_examples=2000',
            f'--config.train.num_steps={args.steps}', f'--config.checkpoint.every_steps={args.steps}']
    for name in (args.options.split(',') if args.options else ['baseline', 'diffaugment', 'ada']):
        print(f'### {name}', flush=True)
        _quality(DCGAN, args.seeds, args.num_samples or 10000, FASHION, data + _flags(IMAGE_OPTIONS[name]),
                 args)


def classifier_distance(path: str) -> dict[int, float]:
    """Fréchet distance of the Fashion-MNIST classifier's penultimate features, samples vs the test set."""
    from ganjax.data.files import read_files
    from ganjax.metrics import classifier
    from ganjax.metrics.fid import frechet_distance

    params, _ = classifier.get_classifier('fashion_mnist', data_path=FASHION)
    ref = read_files(FASHION, 'test', 0, 0, 0)[0]

    def stats(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = classifier.features(params, images).astype(np.float64)
        return f.mean(0), np.cov(f, rowvar=False)

    mu_r, s_r = stats(ref)
    out = {}
    with np.load(path) as z:
        for k in z.files:
            if k.startswith('seed') and k[4:].isdigit():
                mu, s = stats(z[k])
                out[int(k[4:])] = float(frechet_distance(mu, s, mu_r, s_r))
    return out


def _config(experiment: str):
    import importlib
    return importlib.import_module(f'experiments.{experiment}').get_config()


def projected(args: argparse.Namespace) -> None:
    """Projected GAN vs the DCGAN recipe on Fashion-MNIST: quality.py rows plus the classifier distance."""
    out = Path(args.samples_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = [f'--config.data.path={FASHION}']
    p_steps = args.projected_steps or args.steps
    # The EMA's horizon, 1 / (1 - decay) steps, scaled with the budget: a fixed 0.999 would still hold
    # 0.999**1000 = 37% of the random initial weights at the end of a 1000-step run.
    ema = _config(BEST_DCGAN).train.ema_decay
    decay = max(0.0, 1 - (1 - ema) * args.steps / p_steps) if ema else 0.0
    runs = {'dcgan': (BEST_DCGAN, args.steps, []),
            'projected': (BEST_DCGAN, p_steps,
                          ['--config.model.name=projected', '--config.loss.name=hinge',
                           f'--config.stabilise.projected_features={args.features}',
                           f'--config.train.ema_decay={decay:.6g}'])}
    for name in args.options.split(',') if args.options else runs:
        experiment, steps, extra = runs[name]
        print(f'### {name}', flush=True)
        run_dir = out / name
        flags = data + extra + [f'--config.train.num_steps={steps}', f'--config.checkpoint.every_steps={steps}']
        samples = samples_file(run_dir, experiment, args.seeds.split(','))
        if samples.is_file():  # trained by an earlier call: score it again, do not retrain
            print(f'reusing {samples}', flush=True)
        else:
            _quality(experiment, args.seeds, args.num_samples or 10000, FASHION, flags, args,
                     more=[f'--samples-out={run_dir}'])
        if args.dry_run:
            continue
        _quality(experiment, args.seeds, args.num_samples or 10000, FASHION, [], args,
                 more=['--from-samples', str(samples)])
        print(f'{name} classifier Fréchet distance per seed:', classifier_distance(str(samples)), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('benchmark', choices=['toy', 'stacked', 'lowdata', 'projected'])
    p.add_argument('--seeds', default='0,1,2')
    p.add_argument('--steps', type=int, default=0, help='generator steps (toy: 2000; others: 10000)')
    p.add_argument('--projected-steps', type=int, default=0, help='projected: its steps (default --steps)')
    p.add_argument('--features', default='inception', help="projected: 'inception' | 'random'")
    p.add_argument('--options', default='', help='comma-separated option names (default: all of the benchmark)')
    p.add_argument('--num-samples', type=int, default=0)
    p.add_argument('--mnist', default=MNIST, help='stacked: MNIST idx folder (the digits and the classifier)')
    p.add_argument('--samples-dir', default=str(Path(tempfile.gettempdir()) / 'ganjax_stabilisers'),
                   help='projected: samples per run (a samples file already there is scored, not retrained)')
    p.add_argument('--dry-run', action='store_true')
    args = p.parse_args()
    args.steps = args.steps or (2000 if args.benchmark == 'toy' else 10000)
    {'toy': toy, 'stacked': stacked, 'lowdata': lowdata, 'projected': projected}[args.benchmark](args)


if __name__ == '__main__':
    main()
