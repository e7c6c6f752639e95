"""Sample quality of an experiment over seeds, through the real CLI: FID, KID, precision/recall (images) or
modes/KL (Stacked MNIST), one row per experiment appended to ``benchmarks/RESULTS.md``.

    PYTHONPATH=. python benchmarks/quality.py --experiment=fashion_mnist --seeds=0,1,2 \\
        --reference=/usr/share/datasets/fashion-mnist [--extra --config.data.path=...]

Per seed: ``python -m ganjax.main`` trains into a temporary workdir (timed: start-up, compile, training),
then ``--num-samples`` images (default 10,000; 26,000 for Stacked MNIST) come from the EMA generator of its last checkpoint as uint8,
the same quantisation as the real images. Image metrics compare the Inception features of the samples with
those of the reference set (``--reference``: idx/npz/image folder, split ``--reference-split``, default
``test``), whose features are computed once and cached under the ganjax cache dir. Stacked MNIST is scored
with :mod:`ganjax.metrics.stacked_mnist` (classifier trained and cached on first use from ``--reference``).

Training and scoring can run on different machines: ``--samples-out=DIR`` trains and writes the samples of
each experiment to ``DIR/<experiment>.npz`` (with each run's steps and wall time) and scores nothing;
``--from-samples=FILE`` scores such a file and appends its row. That is how GPU-trained runs are scored on
the CPU (the Inception weights are too large to send to the GPU machine).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / 'benchmarks' / 'RESULTS.md'


# ------------------------------------------------------------------------------------------ training

def train(experiment: str, seed: int, workdir: str, extra: list[str]) -> float:
    """Train one seed through the CLI; returns the wall time in seconds."""
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')])}
    cmd = [sys.executable, '-m', 'ganjax.main', f'--config=experiments/{experiment}.py', f'--workdir={workdir}',
           f'--config.seed={seed}', *extra]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode:
        sys.exit(f'{experiment} seed {seed} failed (status {r.returncode}):\n{r.stderr[-3000:]}')
    print('\n'.join(r.stdout.strip().splitlines()[-2:]), flush=True)  # the last progress line (steps/s)
    return wall


def generate(workdir: str, num_samples: int, seed: int, batch_size: int = 500) -> tuple[np.ndarray, int]:
    """``num_samples`` uint8 NHWC images from the run's EMA generator, and the checkpoint's step."""
    import jax
    import jax.numpy as jnp

    from ganjax.checkpoint import load_generator
    from ganjax.state import sample_latent

    generator, params, collections, config = load_generator(workdir)
    step = json.loads((Path(workdir) / 'summary.json').read_text())['step']

    @jax.jit
    def sample(z, labels):
        x = generator.apply({'params': params, **collections}, z, labels, train=False)
        return jnp.clip(jnp.round((x + 1.0) * 127.5), 0, 255).astype(jnp.uint8)

    num_classes = getattr(generator, 'num_classes', 0)
    key = jax.random.fold_in(jax.random.PRNGKey(seed), 0x5A4D)
    out = []
    for start in range(0, num_samples, batch_size):
        k = jax.random.fold_in(key, start)
        z = sample_latent(k, (batch_size, config.model.latent_dim), config.model.latent_dist)
        labels = (jnp.arange(start, start + batch_size, dtype=jnp.int32) % num_classes) if num_classes else None
        out.append(np.asarray(sample(z, labels)))
    return np.concatenate(out)[:num_samples], step


# ------------------------------------------------------------------------------------------ scoring

def reference_features(path: str, split: str, max_images: int, batch_size: int) -> np.ndarray:
    """Inception pool3 features of the reference images, cached by (path, split, count)."""
    from ganjax.data.files import read_files
    from ganjax.metrics.weights import cache_dir

    tag = hashlib.sha256(f'{Path(path).resolve()}|{split}|{max_images}'.encode()).hexdigest()[:16]
    cache = cache_dir() / 'quality' / f'reference_{tag}.npz'
    if cache.is_file():
        with np.load(cache) as z:
            return z['features']
    images, _, _ = read_files(path, split, 0, 0, max_images)
    feats = features(images, batch_size, f'reference {Path(path).name}/{split}')
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, features=feats, path=str(path), split=split)
    return feats


def features(images: np.ndarray, batch_size: int, label: str) -> np.ndarray:
    from ganjax.metrics import fid as F

    ext = F.InceptionFeatures(batch_size=batch_size)
    progress = F.Progress(label, len(images))
    out = []
    for batch in F.batched(images, 1000):
        out.append(ext.features(batch))
        progress(sum(len(o) for o in out))
    progress.close()
    return np.concatenate(out)


def image_metrics(samples: np.ndarray, ref: np.ndarray, batch_size: int) -> dict[str, float]:
    from ganjax.metrics import fid as F

    fake = features(samples, batch_size, 'samples')
    acc_r, acc_f = F.StreamingStats(), F.StreamingStats()
    acc_r.update(ref)
    acc_f.update(fake)
    fid = F.frechet_distance(*acc_f.result(), *acc_r.result())
    kid, _ = F.kernel_inception_distance(ref, fake)
    precision, recall = F.precision_recall(ref, fake)
    return {'fid': fid, 'kid': kid, 'precision': precision, 'recall': recall}


def stacked_metrics(samples: np.ndarray, mnist_path: str) -> dict[str, float]:
    from ganjax.metrics import stacked_mnist as S

    params, acc = S.get_classifier(mnist_path, log=lambda s: print(s, file=sys.stderr))
    modes, kl = S.mode_coverage(S.stack_modes(params, samples))
    return {'modes': modes, 'kl': kl, 'classifier_acc': acc}


def score(samples: dict[int, np.ndarray], args: argparse.Namespace) -> dict[int, dict[str, float]]:
    if 'stacked_mnist' in args.experiment:
        return {s: stacked_metrics(x, args.reference) for s, x in samples.items()}
    ref = reference_features(args.reference, args.reference_split, args.reference_images, args.batch_size)
    return {s: image_metrics(x, ref, args.batch_size) for s, x in samples.items()}


# ------------------------------------------------------------------------------------------ reporting

def machine() -> str:
    try:
        model = next(line.split(':', 1)[1].strip() for line in Path('/proc/cpuinfo').read_text().splitlines()
                     if line.startswith('model name'))
    except (OSError, StopIteration):
        model = platform.processor() or 'unknown CPU'
    return f'{model}, {os.cpu_count()} cores'


def mean_std(values: list[float], fmt: str) -> str:
    if len(values) == 1:
        return format(values[0], fmt)
    return f'{format(float(np.mean(values)), fmt)} ± {format(float(np.std(values, ddof=1)), fmt)}'


def row(experiment: str, metrics: dict[int, dict[str, float]], runs: dict[int, dict[str, Any]],
        num_samples: int, command: str) -> str:
    seeds = sorted(metrics)
    cols = list(next(iter(metrics.values())))
    fmts = {'fid': '.2f', 'kid': '.4f', 'precision': '.3f', 'recall': '.3f', 'modes': '.1f', 'kl': '.3f',
            'classifier_acc': '.4f'}
    cells = [f'{k} {mean_std([metrics[s][k] for s in seeds], fmts.get(k, ".4g"))}' for k in cols]
    steps = sorted({runs[s]['steps'] for s in seeds})
    walls = [runs[s]['wall_s'] for s in seeds]
    where = runs[seeds[0]].get('machine', machine())
    date = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d')
    return (f"| {experiment} | {','.join(map(str, seeds))} | {'/'.join(map(str, steps))} | {num_samples} | "
            f"{'; '.join(cells)} | {mean_std(walls, '.0f')} ({where}) | {date} | `{command}` |")


def append(line: str, path: Path) -> None:
    header = ('\n## Sample quality (`benchmarks/quality.py`)\n\n'
              '| experiment | seeds | steps | samples | metrics (mean ± std over seeds) | train wall s (where) | '
              'date | command |\n|---|---|---|---|---|---|---|---|\n')
    text = path.read_text() if path.exists() else ''
    if '## Sample quality (`benchmarks/quality.py`)' not in text:
        text = text.rstrip('\n') + '\n' + header
    path.write_text(text.rstrip('\n') + '\n' + line + '\n')


# ------------------------------------------------------------------------------------------ main

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--experiment', default='fashion_mnist')
    p.add_argument('--seeds', default='0,1,2')
    p.add_argument('--num-samples', type=int, default=0, help='default 10,000; 26,000 for stacked_mnist')
    p.add_argument('--reference', default='/usr/share/datasets/fashion-mnist',
                   help='reference images (idx/npz/folder); for stacked_mnist the MNIST idx folder')
    p.add_argument('--reference-split', default='test')
    p.add_argument('--reference-images', type=int, default=0, help='cap on reference images (0 = all)')
    p.add_argument('--batch-size', type=int, default=50, help='Inception batch size')
    p.add_argument('--samples-out', default='', help='write samples to DIR/<experiment>-s<seeds>.npz, '
                   'score nothing')
    p.add_argument('--from-samples', nargs='+', default=[], help='score files written by --samples-out '
                   '(one experiment; several files are merged by seed)')
    p.add_argument('--results', default=str(RESULTS))
    p.add_argument('--no-append', action='store_true')
    p.add_argument('--extra', nargs=argparse.REMAINDER, default=[], help='--config.KEY=VALUE overrides')
    args = p.parse_args()
    if not args.num_samples:
        args.num_samples = 26000 if 'stacked_mnist' in args.experiment else 10000
    command = 'python benchmarks/quality.py ' + ' '.join(shlex.quote(a) for a in sys.argv[1:])

    if args.from_samples:
        samples, runs, commands = {}, {}, []
        for path in args.from_samples:
            with np.load(path) as z:
                meta = json.loads(z['meta'].tobytes().decode())
                samples.update({int(k[4:]): z[k] for k in z.files if k.startswith('seed')})
            if runs and meta['experiment'] != args.experiment:
                sys.exit(f'{path} holds {meta["experiment"]}, not {args.experiment}')
            args.experiment = meta['experiment']
            runs.update({int(s): r for s, r in meta['runs'].items()})
            commands.append(meta['command'])
        command = f"{'; '.join(commands)}  (scored: {command})"
    else:
        samples, runs = {}, {}
        for seed in [int(s) for s in args.seeds.split(',')]:
            with tempfile.TemporaryDirectory() as workdir:
                wall = train(args.experiment, seed, workdir, args.extra)
                samples[seed], step = generate(workdir, args.num_samples, seed)
            runs[seed] = {'steps': step, 'wall_s': wall, 'machine': machine_label()}
            print(f'{args.experiment} seed {seed}: {step} steps, {wall:.0f} s', flush=True)
    if args.samples_out:
        out = Path(args.samples_out)
        out.mkdir(parents=True, exist_ok=True)
        meta = {'experiment': args.experiment, 'runs': runs, 'command': command}
        tag = '_'.join(str(s) for s in sorted(samples))
        np.savez_compressed(out / f'{args.experiment}-s{tag}.npz', meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                            **{f'seed{s}': x for s, x in samples.items()})
        return
    metrics = score(samples, args)
    for s in sorted(metrics):
        print(f'{args.experiment} seed {s}: ' + ', '.join(f'{k} {v:.4f}' for k, v in metrics[s].items()))
    line = row(args.experiment, metrics, runs, len(next(iter(samples.values()))), command)
    print(line)
    print(json.dumps({'experiment': args.experiment, 'metrics': metrics, 'runs': runs}))
    if not args.no_append:
        append(line, Path(args.results))


def machine_label() -> str:
    """Where training ran: the accelerator's name if JAX has one, else the CPU."""
    try:
        import jax

        dev = jax.devices()[0]
        if dev.platform != 'cpu':
            return dev.device_kind
    except Exception:  # noqa: BLE001 -- a label only
        pass
    return machine()


if __name__ == '__main__':
    main()
