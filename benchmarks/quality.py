"""Sample quality of an experiment over seeds, through the real CLI: FID, KID, precision/recall (images) or
modes/KL (Stacked MNIST), one row per experiment appended to ``benchmarks/RESULTS.md``.

    PYTHONPATH=. python benchmarks/quality.py --experiment=fashion_mnist --seeds=0,1,2 \\
        --reference=/usr/share/datasets/fashion-mnist [--extra --config.data.path=...]

Per seed: ``python -m ganjax.main`` trains into a temporary workdir (timed: start-up, compile, training;
its progress and ETA shown as it goes; stopping this script stops the trainer through its checkpoint),
then ``--num-samples`` images (default 10,000; 26,000 for Stacked MNIST) come from the EMA generator
(``--raw``: the trained one) of its last checkpoint as uint8, the same quantisation as the real images.
Image metrics compare the Inception features of the samples with those of the reference set
(``--reference``: idx/npz/image folder, split ``--reference-split``, default ``test``), whose features
are computed once and cached under the ganjax cache dir. Stacked MNIST is scored
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
import signal
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

def child_env() -> dict[str, str]:
    """The environment of a child run: the repo first on PYTHONPATH, the caller's entries kept (packages
    installed with ``pip --target`` on a machine without a virtual environment)."""
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}


def samples_file(out: str | Path, experiment: str, seeds: Any) -> Path:
    """Where ``--samples-out=OUT`` writes the samples of these seeds: ``OUT/<experiment>-s<seeds>.npz``."""
    return Path(out) / f"{experiment}-s{'_'.join(str(s) for s in sorted(int(s) for s in seeds))}.npz"


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``cmd`` in the repo with its stdout passed through (the trainer's progress and ETA, live) and its
    stderr kept for the error message; returns ``(status, stderr)``.

    A SIGTERM to this script is passed on to the child, which the trainer takes as a preemption (it
    checkpoints, so a re-run with ``--workdir`` resumes); a Ctrl-C reaches the child from the terminal
    already (a second signal would make the trainer stop without its checkpoint). Either way the child is
    waited for: no trainer outlives the script that started it."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        try:
            _, err = proc.communicate()
        except BaseException as e:
            if not isinstance(e, KeyboardInterrupt):
                proc.terminate()
            proc.wait()
            raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return proc.returncode, err


def train(experiment: str, seed: int, workdir: str, extra: list[str]) -> float:
    """Train one seed through the CLI; returns the wall time in seconds."""
    cmd = [sys.executable, '-m', 'ganjax.main', f'--config=experiments/{experiment}.py', f'--workdir={workdir}',
           f'--config.seed={seed}', *extra]
    t0 = time.perf_counter()
    status, err = run_child(cmd, child_env())
    wall = time.perf_counter() - t0
    if status:
        sys.exit(f'{experiment} seed {seed} failed (status {status}):\n{err[-3000:]}')
    return wall


def generate(workdir: str, num_samples: int, seed: int, truncation: float = 1.0,
             step: int | None = None, ema: bool = True) -> dict[str, Any]:
    """``num_samples`` uint8 NHWC images from the EMA generator (``ema=False``: the trained weights) of
    checkpoint ``step`` (default: the newest; :func:`ganjax.sample.load_sampler`:
    the game's own latents, standing statistics, truncation ``psi``), with the class each was asked for
    (``labels``, conditional runs), InfoGAN's categorical code (``codes``) and the checkpoint's step."""
    from ganjax import sample

    sampler = sample.load_sampler(workdir, step, ema)
    seeds = np.arange(num_samples, dtype=np.int64) + 1_000_000 * seed
    z = sampler.latents(seeds, truncation)
    labels = sampler.labels(seeds)
    x = sampler(z, labels)
    out = {'images': np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8), 'step': sampler.step}
    if labels is not None:
        out['labels'] = labels
    game = sampler.config.game
    if game.name == 'infogan' and game.categorical:
        noise = sampler.config.model.latent_dim
        out['codes'] = np.argmax(z[:, noise:noise + game.categorical], axis=-1)
    return out


# ------------------------------------------------------------------------------------------ scoring

def reference_features(path: str, split: str, max_images: int, batch_size: int) -> np.ndarray:
    """Inception pool3 features of the reference images, cached by (path, split, count)."""
    from ganjax.data.files import read_files
    from ganjax.fileio import save_npz
    from ganjax.metrics.weights import cache_dir

    tag = hashlib.sha256(f'{Path(path).resolve()}|{split}|{max_images}'.encode()).hexdigest()[:16]
    cache = cache_dir() / 'quality' / f'reference_{tag}.npz'
    if cache.is_file():
        with np.load(cache) as z:
            return z['features']
    images, _, _ = read_files(path, split, 0, 0, max_images)
    feats = features(images, batch_size, f'reference {Path(path).name}/{split}')
    save_npz(cache, {'features': feats, 'path': str(path), 'split': split})
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
    ids = S.stack_modes(params, samples)
    modes, kl = S.mode_coverage(ids)
    # The part of the KL that is each channel's digit frequencies (the rest: dependence + sampling floor).
    return {'modes': modes, 'kl': kl, 'channel_kl': sum(S.channel_kl(ids)), 'classifier_acc': acc}


def class_metrics(run: dict[str, np.ndarray], classifier: str, data_path: str) -> dict[str, float]:
    """With a dataset classifier (:mod:`ganjax.metrics.classifier`): ``class_acc``, the fraction of a
    conditional run's samples classified as the class they were asked for, and ``code_agreement``, the
    agreement of InfoGAN's categorical code with the classes under the best one-to-one matching."""
    from ganjax.metrics import classifier as C

    params, acc = C.get_classifier(classifier, data_path or None, log=lambda s: print(s, file=sys.stderr))
    predicted = C.predict(params, run['images'])
    out = {'classifier_acc': acc}
    if 'labels' in run:
        out['class_acc'] = float(np.mean(predicted == run['labels']))
    if 'codes' in run:
        out['code_agreement'] = C.matched_agreement(run['codes'], predicted)
    return out


def score(samples: dict[int, dict[str, np.ndarray]], args: argparse.Namespace) -> dict[int, dict[str, float]]:
    if 'stacked_mnist' in args.experiment:
        return {s: stacked_metrics(r['images'], args.reference) for s, r in samples.items()}
    out: dict[int, dict[str, float]] = {s: {} for s in samples}
    if not args.no_fid:
        ref = reference_features(args.reference, args.reference_split, args.reference_images, args.batch_size)
        for s, r in samples.items():
            out[s].update(image_metrics(r['images'], ref, args.batch_size))
    if args.classifier:
        for s, r in samples.items():
            out[s].update(class_metrics(r, args.classifier, args.classifier_data))
    return out


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
            'channel_kl': '.3f', 'classifier_acc': '.4f', 'class_acc': '.4f', 'code_agreement': '.4f'}
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
    p.add_argument('--workdir', default='', help='keep each run in WORKDIR/<experiment>-s<seed> (a re-run '
                   'resumes or reuses it) instead of a temporary directory')
    p.add_argument('--truncation', default='1', help='comma-separated psi values: one row per value')
    p.add_argument('--classifier', default='', choices=['', 'fashion_mnist', 'mnist'],
                   help="score samples with this dataset's classifier: conditional runs' class accuracy, "
                   "InfoGAN's code-class agreement")
    p.add_argument('--classifier-data', default='', help='idx folder to train the classifier from if not cached')
    p.add_argument('--no-fid', action='store_true', help='skip the Inception metrics')
    p.add_argument('--raw', action='store_true', help="sample the trained generator, not its EMA (rows say "
                   "'raw generator'): how much the average helps, or hurts early in a run")
    p.add_argument('--step', type=int, default=0, help='score the checkpoint of this step (default: the '
                   'newest); with --workdir and --config.checkpoint.keep, the curve of a finished run')
    p.add_argument('--extra', nargs=argparse.REMAINDER, default=[], help='--config.KEY=VALUE overrides')
    args = p.parse_args()
    if not args.num_samples:
        args.num_samples = 26000 if 'stacked_mnist' in args.experiment else 10000
    command = 'python benchmarks/quality.py ' + ' '.join(shlex.quote(a) for a in sys.argv[1:])
    psis = [float(v) for v in args.truncation.split(',')]

    if args.from_samples:
        samples, runs, commands = {}, {}, []
        for path in args.from_samples:
            with np.load(path) as z:
                meta = json.loads(z['meta'].tobytes().decode())
                for k in z.files:
                    for field in ('seed', 'labels', 'codes'):
                        if k.startswith(field) and k[len(field):].isdigit():
                            samples.setdefault(int(k[len(field):]), {})['images' if field == 'seed' else field] = z[k]
            if runs and meta['experiment'] != args.experiment:
                sys.exit(f'{path} holds {meta["experiment"]}, not {args.experiment}')
            args.experiment = meta['experiment']
            args.raw = args.raw or meta.get('raw', False)
            runs.update({int(s): r for s, r in meta['runs'].items()})
            commands.append(meta['command'])
        command = f"{'; '.join(commands)}  (scored: {command})"
        report(args, {1.0: samples}, runs, command)
        return
    by_psi: dict[float, dict[int, dict[str, np.ndarray]]] = {psi: {} for psi in psis}
    runs = {}
    for seed in [int(s) for s in args.seeds.split(',')]:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = str(Path(args.workdir) / f'{args.experiment}-s{seed}') if args.workdir else tmp
            wall = train(args.experiment, seed, workdir, args.extra)
            for psi in psis:
                by_psi[psi][seed] = generate(workdir, args.num_samples, seed, psi, args.step or None, not args.raw)
        step = by_psi[psis[0]][seed].pop('step')
        runs[seed] = {'steps': step, 'wall_s': wall, 'machine': machine_label()}
        print(f'{args.experiment} seed {seed}: {step} steps, {wall:.0f} s', flush=True)
    if args.samples_out:
        out = Path(args.samples_out)
        out.mkdir(parents=True, exist_ok=True)
        meta = {'experiment': args.experiment, 'runs': runs, 'command': command, 'raw': args.raw}
        samples = by_psi[psis[0]]
        arrays = {f'{"seed" if k == "images" else k}{s}': v for s, r in samples.items() for k, v in r.items()
                  if k != 'step'}
        from ganjax.fileio import save_npz  # whole or not at all: stabilisers.py reuses a file it finds

        save_npz(samples_file(out, args.experiment, samples),
                 {'meta': np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays}, compressed=True)
        return
    report(args, by_psi, runs, command)


def report(args: argparse.Namespace, by_psi: dict[float, dict[int, dict[str, np.ndarray]]],
           runs: dict[int, dict[str, Any]], command: str) -> None:
    """Score the samples of each truncation value and print (and append) one row each."""
    for psi, samples in by_psi.items():
        for r in samples.values():
            r.pop('step', None)
        metrics = score(samples, args)
        name = args.experiment + (' (raw generator)' if args.raw else '')
        name += '' if psi == 1.0 else f' (truncation {psi:g})'
        for s in sorted(metrics):
            print(f'{name} seed {s}: ' + ', '.join(f'{k} {v:.4f}' for k, v in metrics[s].items()))
        line = row(name, metrics, runs, len(next(iter(samples.values()))['images']), command)
        print(line)
        print(json.dumps({'experiment': name, 'metrics': metrics, 'runs': runs}), flush=True)
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
