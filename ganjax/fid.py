"""``python -m ganjax.fid A [B]``: FID (and friends) between two image sets or saved statistics.

A and B are each an image folder (searched recursively; png/jpg/jpeg/bmp/webp/gif/tif), an ``.npz`` of
uint8 NHWC images (key ``image``, else its first array) or an ``.npz`` of statistics (``mu``, ``sigma``).
With one input, only ``--save-stats`` makes sense. ``--metrics fid,is,kid,pr,dc`` picks what to print:
``is`` is computed for each image input (needs weights with logits), ``kid``, ``pr`` (precision/recall,
k=3) and ``dc`` (density/coverage, k=5) need images on both sides.

``python -m ganjax.fid --workdir=DIR --reference=REF [--num-samples=10000]`` scores a checkpoint instead:
it generates N samples (seeds 0..N-1, as ``ganjax.sample`` draws them; EMA generator of the newest
checkpoint unless ``--raw``/``--step``) and compares them with REF: an image folder, an ``.npz`` of images
or of statistics, or ``train`` (the first N images of the run's own training data, as its config reads
them). It prints FID, KID and precision/recall (FID alone against statistics) and appends one JSON object
per evaluation to ``DIR/metrics_fid.jsonl`` (step, generator, sample count, reference, results; as
StyleGAN2-ADA's ``metric-*.jsonl``).

Fewer samples than the 2048 feature dimensions gives a one-line warning (FID is then biased upwards and
only comparable at the same N); fewer than 2 is an error. Bad input prints ``error: ...`` on stderr and
exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ganjax.cli import OneLineParser, guarded
from ganjax.errors import DataError
from ganjax.metrics import fid as F

IMAGE_EXTS = {'.png', '.jpg', '.jpeg', '.bmp', '.webp', '.gif', '.tif', '.tiff'}
METRICS = ('fid', 'is', 'kid', 'pr', 'dc')


class Source:
    """One input: either statistics, or a way to stream its images in batches."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.stats: tuple[np.ndarray, np.ndarray] | None = None
        self.images: np.ndarray | None = None
        self.files: list[Path] = []
        p = Path(spec)
        if p.is_dir():
            self.files = sorted(f for f in p.rglob('*') if f.is_file() and f.suffix.lower() in IMAGE_EXTS)
            if not self.files:
                raise DataError(f'{spec}: no images found in folder')
        elif p.is_file() and p.suffix == '.npz':
            try:
                with np.load(p, allow_pickle=False) as z:
                    names = list(z.files)
                    if 'mu' in names or 'sigma' in names:
                        self.stats = F.load_stats(p)
                    elif names:
                        self.images = F.check_images(z['image' if 'image' in names else names[0]])
                    else:
                        raise DataError(f'{spec}: empty .npz file')
            except (OSError, ValueError) as e:
                raise DataError(f'{spec}: cannot read .npz ({e})') from None
            if self.images is not None and self.images.dtype != np.uint8:
                raise DataError(f'{spec}: image arrays must be uint8 NHWC, got {self.images.dtype}')
        elif p.exists():
            raise DataError(f'{spec}: expected an image folder or an .npz file')
        else:
            raise DataError(f'{spec}: no such file or folder')

    def __len__(self) -> int:
        return len(self.images) if self.images is not None else len(self.files)

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        if self.images is not None:
            yield from F.batched(self.images, batch_size)
            return
        from PIL import Image
        pending: list[np.ndarray] = []
        for f in self.files:
            try:
                with Image.open(f) as im:
                    if im.mode in ('P', 'CMYK', 'YCbCr'):
                        im = im.convert('RGB')
                    elif im.mode in ('I;16', 'I', 'F', '1'):
                        im = im.convert('L')
                    a = np.asarray(im)
            except OSError as e:
                raise DataError(f'{f}: cannot read image ({e})') from None
            a = F.check_images(a[None])[0]
            if pending and (a.shape != pending[0].shape or len(pending) == batch_size):
                yield np.stack(pending)
                pending = []
            pending.append(a)
        if pending:
            yield np.stack(pending)


FEATURE_DIM = 2048  # pool3 features: below this many samples the covariance is singular
MIN_SAMPLES = 2  # the fewest a covariance can be estimated from


def warn_if_few(counts: dict[str, int]) -> None:
    """One warning line when FID rests on fewer samples than the feature dimension on either side (as
    pytorch-fid and clean-fid warn): the covariance is then singular and FID is biased upwards, so only
    numbers computed from the same N compare. ``counts``: sample count per side, by name."""
    few = [f'{n} {name}' for name, n in counts.items() if n < FEATURE_DIM]
    if few:
        print(f"warning: FID from {' and '.join(few)} samples, fewer than the {FEATURE_DIM} feature dimensions: "
              'the covariance is singular and FID biased upwards; compare only FIDs of the same sample count '
              '(10000 or 50000 are usual)', file=sys.stderr, flush=True)


def _parse_metrics(spec: str) -> list[str]:
    metrics = [m.strip() for m in spec.split(',') if m.strip()]
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise DataError(f'unknown metric {bad[0]!r}; valid: {", ".join(METRICS)}')
    return metrics


def _extractor(args: argparse.Namespace, need_logits: bool) -> F.InceptionFeatures:
    if args.batch_size < 1:
        raise DataError(f'--batch-size must be positive, got {args.batch_size}')
    extractor = F.InceptionFeatures(args.weights, batch_size=args.batch_size, resize=args.resize,
                                    log=lambda s: print(s, file=sys.stderr))
    if need_logits and not extractor.has_logits:
        extractor.logits(np.zeros((1, 2, 2, 3), np.uint8))  # raises the explanatory WeightsError
    return extractor


def _features(label: str, batches: Iterable[np.ndarray], total: int | None, extractor: F.InceptionFeatures,
              keep: bool, logits: bool, quiet: bool) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray | None,
                                                              np.ndarray | None, int]:
    """``((mu, sigma), features if keep, logits if logits, count)`` of every image in ``batches``."""
    acc = F.StreamingStats()
    kept, kept_logits = [], []
    progress = F.Progress(label, total, enabled=not quiet)
    try:
        for batch in batches:
            f, lg = extractor.features_and_logits(batch)
            acc.update(f)
            if keep:
                kept.append(f)
            if logits and lg is not None:
                kept_logits.append(lg)
            progress(acc.n)
    finally:
        progress.close()  # ends the progress line, so an error message starts on its own line
    return (acc.result(), np.concatenate(kept) if kept else None,
            np.concatenate(kept_logits) if kept_logits else None, acc.n)


def _compare(stats: list[tuple[np.ndarray, np.ndarray]], feats: list[np.ndarray | None],
             metrics: list[str]) -> dict[str, float]:
    """The two-set metrics of ``metrics`` between side 0 (real) and side 1 (fake)."""
    results: dict[str, float] = {}
    if 'fid' in metrics:
        results['fid'] = F.frechet_distance(*stats[0], *stats[1])
    real, fake = feats
    if real is not None and fake is not None:
        if 'kid' in metrics:
            results['kid'], results['kid_std'] = F.kernel_inception_distance(real, fake)
        if 'pr' in metrics:
            results['precision'], results['recall'] = F.precision_recall(real, fake, k=3)
        if 'dc' in metrics:
            results['density'], results['coverage'] = F.density_coverage(real, fake, k=5)
    return results


def _print(results: dict[str, float]) -> None:
    for key, value in results.items():
        if key == 'kid_std':
            continue
        if key == 'kid':
            print(f"kid: {value:.6f} +- {results['kid_std']:.6f}")
        else:
            print(f'{key}: {value:.6f}' if key == 'fid' else f'{key}: {value:.4f}')


def _run(args: argparse.Namespace) -> None:
    if args.workdir is not None:
        _run_workdir(args)
        return
    if args.reference is not None:
        raise DataError('--reference goes with --workdir (scoring a checkpoint); to compare two sets give A B')
    if not args.inputs or len(args.inputs) > 2:
        raise DataError('give one or two inputs A [B], or --workdir=DIR --reference=REF')
    metrics = _parse_metrics(args.metrics or 'fid')
    sources = [Source(s) for s in args.inputs]
    if len(sources) == 1 and not args.save_stats:
        raise DataError('one input given: pass a second input to compare, or --save-stats to save its stats')
    if args.save_stats and sources[0].stats is not None:
        raise DataError(f'{sources[0].spec} already holds statistics; --save-stats needs images')
    need_feats = any(m in metrics for m in ('kid', 'pr', 'dc')) and len(sources) == 2
    need_logits = 'is' in metrics and len(sources) == 2
    if need_feats and any(s.stats is not None for s in sources):
        raise DataError('kid, pr and dc need images on both sides, not saved statistics')
    extractor = _extractor(args, need_logits) if any(s.stats is None for s in sources) else None

    stats, feats, scores, counts = [], [], [], {}
    for label, src in zip('AB', sources):
        if src.stats is not None:
            stats.append(src.stats)
            feats.append(None)
            continue
        assert extractor is not None
        st, f, lg, counts[label] = _features(f'{label} {src.spec}', src.batches(args.batch_size), len(src),
                                             extractor, need_feats, need_logits, args.quiet)
        stats.append(st)
        feats.append(f)
        if need_logits:
            mean, std = F.inception_score(lg)
            scores.append(f'is_{label}: {mean:.4f} +- {std:.4f}')
    if args.save_stats:
        F.save_stats(args.save_stats, *stats[0])
        print(f'saved statistics of {sources[0].spec} to {args.save_stats}', file=sys.stderr)
    if len(sources) == 2:
        warn_if_few(counts)
        _print(_compare(stats, feats, metrics))
        for line in scores:
            print(line)


def _run_workdir(args: argparse.Namespace) -> None:
    """FID (and KID, precision/recall) of a checkpoint's samples against ``--reference``, appended to
    ``WORKDIR/metrics_fid.jsonl``. The samples are those ``ganjax.sample`` draws for seeds 0..N-1 (class
    ``seed mod num_classes`` for conditional runs), quantised to uint8 as saved images are."""
    from ganjax import sample as sample_lib
    from ganjax import viz

    if args.inputs:
        raise DataError('with --workdir the samples come from the checkpoint: drop the inputs A B')
    if args.reference is None:
        raise DataError('--workdir needs --reference: an image folder, an .npz of images or statistics, '
                        'or train (the run\'s own training data)')
    if args.save_stats:
        raise DataError('--save-stats goes with an input A, not with --workdir')
    n = args.num_samples
    if n < MIN_SAMPLES:
        raise DataError(f'--num-samples must be >= {MIN_SAMPLES} (a covariance needs two samples), got {n}')
    started = time.time()
    reference = None if args.reference == 'train' else Source(args.reference)
    has_images = reference is None or reference.stats is None
    metrics = _parse_metrics(args.metrics or ('fid,kid,pr' if has_images else 'fid'))
    if 'is' in metrics:
        raise DataError('--metrics is: Inception Score is for two input sets (python -m ganjax.fid A B --metrics is)')
    need_feats = any(m in metrics for m in ('kid', 'pr', 'dc'))
    if need_feats and not has_images:
        raise DataError('kid, pr and dc need reference images, not saved statistics')

    sampler = sample_lib.load_sampler(args.workdir, args.step, args.ema)
    probe = sampler(sampler.latents([0]), sampler.labels([0]))
    if probe.ndim != 4:
        raise DataError(f'{args.workdir} generates vectors of shape {probe.shape[1:]}, not images: FID needs '
                        'images (the toy runs report modes and hq_fraction in summary.json)')
    chunk = max(args.batch_size, 1) * 10

    def generated() -> Iterator[np.ndarray]:
        for i in range(0, n, chunk):
            seeds = list(range(i, min(i + chunk, n)))
            yield viz.to_uint8(sampler(sampler.latents(seeds), sampler.labels(seeds)))

    if reference is None:
        from ganjax import data

        source = data.get_source(sampler.config.data, sampler.config.seed)
        if n > len(source):  # more would repeat images and make the reference look less varied than it is
            raise DataError(f'--reference=train: {source.name} holds {len(source)} images, fewer than '
                            f'--num-samples={n}; lower --num-samples or give a larger reference')
        ref_chunk = min(chunk, n)
        batches = source.iterate(ref_chunk, start_step=0)
        ref_batches: Iterable[np.ndarray] = (viz.to_uint8(next(batches)['x'])[:n - i]
                                             for i in range(0, n, ref_chunk))
        ref_total: int | None = n
    else:
        ref_batches, ref_total = reference.batches(args.batch_size), len(reference)
    extractor = _extractor(args, False)
    counts = {'generated': n}
    if reference is not None and reference.stats is not None:
        ref_stats, ref_feats = reference.stats, None
    else:
        ref_stats, ref_feats, _, counts['reference'] = _features(
            f'reference {args.reference}', ref_batches, ref_total, extractor, need_feats, False, args.quiet)
    fake_stats, fake_feats, _, _ = _features(f'step {sampler.step} samples', generated(), n, extractor,
                                             need_feats, False, args.quiet)
    warn_if_few(counts)
    results = _compare([ref_stats, fake_stats], [ref_feats, fake_feats], metrics)
    _print(results)
    record = {'step': sampler.step, 'generator': 'ema' if args.ema else 'raw', 'num_samples': n,
              'reference': args.reference, 'results': results, 'resize': args.resize,
              'total_time_s': round(time.time() - started, 1), 'timestamp': round(time.time(), 1)}
    with (Path(args.workdir) / 'metrics_fid.jsonl').open('a') as f:
        f.write(json.dumps(record) + '\n')


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(prog='python -m ganjax.fid', description=__doc__.split('\n')[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('inputs', nargs='*', metavar='A_B', help='image folder, images .npz or stats .npz (1-2)')
    ap.add_argument('--metrics', default=None,
                    help=f'comma-separated, from {",".join(METRICS)} (default fid; fid,kid,pr with --workdir)')
    ap.add_argument('--save-stats', metavar='PATH', help="save A's statistics (mu, sigma) to this .npz")
    ap.add_argument('--batch-size', type=int, default=50)
    ap.add_argument('--weights', metavar='PATH', default=None,
                    help='Inception weights (.pt, .pth or our .npz); default: $GANJAX_INCEPTION_WEIGHTS, '
                    'then the cache')
    ap.add_argument('--resize', choices=F.RESIZES, default='bilinear')
    ap.add_argument('--quiet', action='store_true', help='no progress line')
    run = ap.add_argument_group('scoring a checkpoint')
    run.add_argument('--workdir', default=None, help='a run directory: score samples of its checkpoint')
    run.add_argument('--reference', default=None,
                     help="image folder, .npz of images or of statistics, or 'train' (the run's training data)")
    run.add_argument('--num-samples', type=int, default=10000, help='samples (seeds 0..N-1); default 10000')
    run.add_argument('--step', type=int, default=None, help='checkpoint step (default: the newest)')
    run.add_argument('--raw', '--no-ema', dest='ema', action='store_false',
                     help="the trained generator's own weights instead of their EMA")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(lambda: _run(args))


if __name__ == '__main__':
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    sys.exit(main())
