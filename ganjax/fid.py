"""``python -m ganjax.fid A [B]``: FID (and friends) between two image sets or saved statistics.

A and B are each an image folder (searched recursively; png/jpg/jpeg/bmp/webp/gif/tif), an ``.npz`` of
uint8 NHWC images (key ``image``, else its first array) or an ``.npz`` of statistics (``mu``, ``sigma``).
With one input, only ``--save-stats`` makes sense. ``--metrics fid,is,kid,pr,dc`` picks what to print:
``is`` is computed for each image input (needs weights with logits), ``kid``, ``pr`` (precision/recall,
k=3) and ``dc`` (density/coverage, k=5) need images on both sides. Bad input prints ``error: ...`` on
stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Iterator

import numpy as np

from ganjax.errors import DataError, GanjaxError
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


def _run(args: argparse.Namespace) -> None:
    metrics = [m.strip() for m in args.metrics.split(',') if m.strip()]
    bad = [m for m in metrics if m not in METRICS]
    if bad:
        raise DataError(f'unknown metric {bad[0]!r}; valid: {", ".join(METRICS)}')
    if args.batch_size < 1:
        raise DataError(f'--batch-size must be positive, got {args.batch_size}')
    sources = [Source(s) for s in args.inputs]
    if len(sources) == 1 and not args.save_stats:
        raise DataError('one input given: pass a second input to compare, or --save-stats to save its stats')
    if args.save_stats and sources[0].stats is not None:
        raise DataError(f'{sources[0].spec} already holds statistics; --save-stats needs images')
    need_feats = any(m in metrics for m in ('kid', 'pr', 'dc')) and len(sources) == 2
    need_logits = 'is' in metrics and len(sources) == 2
    if need_feats and any(s.stats is not None for s in sources):
        raise DataError('kid, pr and dc need images on both sides, not saved statistics')

    extractor = None
    if any(s.stats is None for s in sources):
        extractor = F.InceptionFeatures(args.weights, batch_size=args.batch_size, resize=args.resize,
                                        log=lambda s: print(s, file=sys.stderr))
        if need_logits and not extractor.has_logits:
            extractor.logits(np.zeros((1, 2, 2, 3), np.uint8))  # raises the explanatory WeightsError

    results: list[str] = []
    stats, feats = [], []
    for label, src in zip('AB', sources):
        if src.stats is not None:
            stats.append(src.stats)
            feats.append(None)
            continue
        assert extractor is not None
        acc = F.StreamingStats()
        kept, logits = [], []
        progress = F.Progress(f'{label} {src.spec}', len(src), enabled=not args.quiet)
        try:
            for batch in src.batches(args.batch_size):
                f, lg = extractor.features_and_logits(batch)
                acc.update(f)
                if need_feats:
                    kept.append(f)
                if need_logits and lg is not None:
                    logits.append(lg)
                progress(acc.n)
        finally:
            progress.close()  # ends the progress line, so an error message starts on its own line
        stats.append(acc.result())
        feats.append(np.concatenate(kept) if kept else None)
        if need_logits:
            mean, std = F.inception_score(np.concatenate(logits))
            results.append(f'is_{label}: {mean:.4f} +- {std:.4f}')
    if args.save_stats:
        F.save_stats(args.save_stats, *stats[0])
        print(f'saved statistics of {sources[0].spec} to {args.save_stats}', file=sys.stderr)
    if len(sources) == 2:
        if 'fid' in metrics:
            results.insert(0, f'fid: {F.frechet_distance(*stats[0], *stats[1]):.6f}')
        if need_feats:
            real, fake = feats[0], feats[1]
            if 'kid' in metrics:
                mean, std = F.kernel_inception_distance(real, fake)
                results.append(f'kid: {mean:.6f} +- {std:.6f}')
            if 'pr' in metrics:
                p, r = F.precision_recall(real, fake, k=3)
                results.append(f'precision: {p:.4f}\nrecall: {r:.4f}')
            if 'dc' in metrics:
                d, c = F.density_coverage(real, fake, k=5)
                results.append(f'density: {d:.4f}\ncoverage: {c:.4f}')
    for line in results:
        print(line)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog='python -m ganjax.fid', description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('inputs', nargs='+', metavar='A_B', help='image folder, images .npz or stats .npz (1-2)')
    ap.add_argument('--metrics', default='fid', help=f'comma-separated, from {",".join(METRICS)}')
    ap.add_argument('--save-stats', metavar='PATH', help="save A's statistics (mu, sigma) to this .npz")
    ap.add_argument('--batch-size', type=int, default=50)
    ap.add_argument('--weights', metavar='PATH', default=None,
                    help='Inception weights (.pt, .pth or our .npz); default: $GANJAX_INCEPTION_WEIGHTS, '
                    'then the cache')
    ap.add_argument('--resize', choices=F.RESIZES, default='bilinear')
    ap.add_argument('--quiet', action='store_true', help='no progress line')
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if len(args.inputs) > 2:
        print('error: give one or two inputs', file=sys.stderr)
        return 2
    try:
        _run(args)
    except GanjaxError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    sys.exit(main())
