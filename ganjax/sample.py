"""``python -m ganjax.sample --workdir=DIR``: samples and latent interpolations from a trained run.

Every sample has a seed, and its latent is drawn from that seed alone,
``z = sample_latent(jax.random.PRNGKey(seed), (latent_dim,), latent_dist)``, so seed 7 gives the same
picture whether it is asked for alone or among a thousand others (samples are generated in fixed-size,
padded chunks, so even the floating-point sums do not depend on the batch). On the same machine, the same
command writes the same files.

* ``--seeds=0-99`` or ``--seeds=1,5,9`` (or both kinds, ``0-3,10``); ``--num=N`` means seeds ``0..N-1``
  (default 64).
* The EMA generator of the newest checkpoint by default; ``--raw`` (or ``--no-ema``) the trained weights
  themselves, ``--step=N`` another checkpoint.
* ``--truncation=psi`` in [0, 1] pulls each latent towards the mean latent, ``z' = mean + psi (z - mean)``
  (the truncation trick of BigGAN/StyleGAN, applied to z): fewer odd samples, less variety; 1 changes
  nothing, 0 gives every seed the same sample, that of the mean latent. The mean is 0 for the normal
  latent; for any other latent distribution it is estimated from 65,536 draws of a fixed key (standard
  error ~0.002 per dimension for the uniform one), so a new distribution needs no code here.
* Style-based runs (StyleGAN, StyleGAN2) truncate in w, towards the average of w the generator tracked
  in training, not in z. ``--mix-with=SEED [--mix-cutoff=K]``: style mixing, every sample keeps its own
  styles in the synthesis layers before K and takes those of SEED from K on (default: half the layers).
* Conditional runs: ``--class=K`` for every sample; without it seed ``s`` gets class ``s mod num_classes``.
* ``--interpolate``: paths between consecutive seeds (``--seeds=1,5,9`` goes 1 -> 5 -> 9), ``--frames``
  latents per path including both ends, ``--method=slerp`` (spherical: the path keeps a normal latent's
  typical norm, where a straight line would cut through the low-norm middle that the generator rarely saw
  in training) or ``lerp`` (straight line). A conditional path keeps one class, ``--class`` or that of its
  first seed.

Outputs go to ``--out`` (default ``DIR/generated/step<N>-<ema|raw>``): for images, one PNG per seed
(``seed<s>.png``), ``samples.npz`` (``samples`` uint8 NHWC, ``seeds``, ``z``, ``labels`` if conditional)
and ``grid.png``; with ``--interpolate``, ``interp_<method>.png`` (one row per path), an animated
``interp_<method>.gif`` and ``interp_<method>.npz``. For vector data (the 2-D toys) the same ``.npz`` files
(float samples) and a scatter picture (``samples.png`` / ``interp_<method>.png``) instead of per-seed PNGs.
Bad input prints one ``error: ...`` line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ganjax.cli import OneLineParser, guarded
from ganjax.errors import ArgumentError, CheckpointError

MAX_SEED = 2**31 - 1
MAX_SAMPLES = 1_000_000  # a typo like 0-99999999 should fail at once, not fill the memory
METHODS = ('slerp', 'lerp')
_CHUNK = 64  # generation batch: every sample is computed in a batch of this shape
_MEAN_DRAWS = 1 << 16
_MEAN_KEY = 0x3EA7  # the fixed key of the latent-mean estimate


# ---------------------------------------------------------------------------------------------- seeds

def parse_seeds(spec: str) -> list[int]:
    """``'0-3,10'`` -> ``[0, 1, 2, 3, 10]``: comma-separated seeds and inclusive ranges, in the order given
    (repeats kept). Raises :class:`ArgumentError` on anything else."""
    seeds: list[int] = []
    for part in spec.split(','):
        part = part.strip()
        lo, sep, hi = part.partition('-')
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            raise ArgumentError(f"bad --seeds {spec!r}: {part!r} is not a seed or a range like 0-99") from None
        if not 0 <= a <= b <= MAX_SEED:
            raise ArgumentError(f'bad --seeds {spec!r}: {part!r} must be 0 <= first <= last <= {MAX_SEED}')
        seeds.extend(range(a, b + 1))
        if len(seeds) > MAX_SAMPLES:
            raise ArgumentError(f'bad --seeds {spec!r}: more than {MAX_SAMPLES} seeds')
    return seeds


def seed_latents(seeds: Sequence[int], latent_dim: int, dist: str = 'normal') -> np.ndarray:
    """``(len(seeds), latent_dim)`` float32: row i is ``sample_latent(PRNGKey(seeds[i]), (latent_dim,), dist)``."""
    import jax

    from ganjax.state import sample_latent

    keys = jax.vmap(jax.random.PRNGKey)(np.asarray(seeds, np.uint32))
    return np.asarray(jax.vmap(lambda k: sample_latent(k, (latent_dim,), dist))(keys), np.float32)


# ---------------------------------------------------------------------------------------------- latent maths

def latent_mean(latent_dim: int, dist: str = 'normal') -> np.ndarray:
    """The mean latent that truncation pulls towards: exactly 0 for the normal latent, otherwise the mean of
    65,536 draws with a fixed key (deterministic; no distribution needs its mean written down here)."""
    if dist == 'normal':
        return np.zeros(latent_dim, np.float32)
    import jax

    from ganjax.state import sample_latent

    draws = sample_latent(jax.random.PRNGKey(_MEAN_KEY), (_MEAN_DRAWS, latent_dim), dist)
    return np.asarray(draws.mean(axis=0), np.float32)


def check_truncation(psi: float) -> float:
    if not (isinstance(psi, (int, float)) and math.isfinite(psi) and 0.0 <= psi <= 1.0):
        raise ArgumentError(f'--truncation must be a number in [0, 1] (1 = none), got {psi!r}')
    return float(psi)


def truncate(z: np.ndarray, psi: float, mean: np.ndarray) -> np.ndarray:
    """``mean + psi * (z - mean)``: psi=1 leaves z alone, psi=0 gives the mean for every row."""
    psi = check_truncation(psi)
    return (mean + psi * (np.asarray(z, np.float32) - mean)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points ``(1 - t) a + t b`` for each t: shape ``(len(t), d)``."""
    t = np.asarray(t, np.float64)[:, None]
    return ((1 - t) * a + t * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): the great-circle arc from a to b,
    ``sin((1-t) w)/sin w * a + sin(t w)/sin w * b`` with w the angle between them, shape ``(len(t), d)``.
    Between vectors of equal norm every point keeps that norm. (Anti)parallel vectors have no unique arc;
    for those it falls back to :func:`lerp`."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t = np.asarray(t, np.float64)[:, None]
    cos = np.dot(a64, b64) / max(np.linalg.norm(a64) * np.linalg.norm(b64), 1e-30)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return lerp(a, b, t[:, 0])
    return ((np.sin((1 - t) * omega) * a64 + np.sin(t * omega) * b64) / np.sin(omega)).astype(np.float32)


def interpolation_paths(z: np.ndarray, frames: int, method: str = 'slerp') -> np.ndarray:
    """``(len(z) - 1, frames, d)``: a path of ``frames`` latents (ends included) between consecutive rows."""
    if method not in METHODS:
        raise ArgumentError(f"unknown --method {method!r}; valid: {', '.join(METHODS)}")
    if frames < 2:
        raise ArgumentError(f'--frames must be >= 2 (the two ends), got {frames}')
    if len(z) < 2:
        raise ArgumentError('--interpolate needs at least two seeds, e.g. --seeds=1,5,9')
    fn = slerp if method == 'slerp' else lerp
    t = np.linspace(0.0, 1.0, frames)
    return np.stack([fn(z[i], z[i + 1], t) for i in range(len(z) - 1)])


# ---------------------------------------------------------------------------------------------- a checkpoint

@dataclasses.dataclass
class Sampler:
    """A trained generator loaded from a run directory, ready to turn latents (and labels) into samples."""

    generator: Any
    params: Any
    collections: Any
    config: Any
    step: int
    ema: bool
    draw: Callable | None = None  # the game's own latents (key, n) -> z, where not one plain distribution
    _apply: Callable | None = None

    @property
    def num_classes(self) -> int:
        return int(getattr(self.generator, 'num_classes', 0) or 0)

    @property
    def truncates_itself(self) -> bool:
        """Whether the generator applies truncation itself (a ``psi`` field: the style-based generators,
        which truncate w towards their tracked average rather than z towards the latent mean)."""
        return 'psi' in getattr(self.generator, '__dataclass_fields__', {})

    def latents(self, seeds: Sequence[int], truncation: float = 1.0) -> np.ndarray:
        """The latents of ``seeds``, truncated by ``truncation``; for a generator that
        :attr:`truncates_itself` the latents stay as drawn and the generator's ``psi`` is set instead,
        so that the next calls of this sampler generate truncated samples."""
        model = self.config.model
        if self.truncates_itself:
            psi = check_truncation(truncation)
            if psi != self.generator.psi:
                self.generator, self._apply = self.generator.clone(psi=psi), None
            truncation = 1.0
        if self.draw is not None:  # e.g. InfoGAN: noise and codes; row i from seed i alone, as below
            import jax

            keys = jax.vmap(jax.random.PRNGKey)(np.asarray(seeds, np.uint32))
            z = np.asarray(jax.vmap(lambda k: self.draw(k, 1)[0])(keys), np.float32)
            if truncation != 1.0:
                mean = np.asarray(self.draw(jax.random.PRNGKey(_MEAN_KEY), _MEAN_DRAWS).mean(axis=0), np.float32)
                z = truncate(z, truncation, mean)
            return z
        z = seed_latents(seeds, model.latent_dim, model.latent_dist)
        if truncation != 1.0:
            z = truncate(z, truncation, latent_mean(model.latent_dim, model.latent_dist))
        return z

    def labels(self, seeds: Sequence[int], class_: int | None = None) -> np.ndarray | None:
        """Class labels for ``seeds``: None for an unconditional generator, else ``class_`` for all, or
        ``seed mod num_classes``."""
        if not self.num_classes:
            if class_ is not None:
                raise ArgumentError(f'--class={class_} given, but the model of step {self.step} is not '
                                    'conditional (it was trained without data.conditional)')
            return None
        if class_ is not None and not 0 <= class_ < self.num_classes:
            raise ArgumentError(f'--class must be in 0..{self.num_classes - 1}, got {class_}')
        seeds = np.asarray(seeds, np.int64)
        return (np.full(len(seeds), class_) if class_ is not None else seeds % self.num_classes).astype(np.int32)

    def __call__(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Generator outputs (float32) for latents ``z``, computed in padded chunks of one shape so that a
        row's result never depends on which other rows share its batch."""
        import jax

        if self._apply is None:
            self._apply = jax.jit(lambda p, c, z, y: self.generator.apply({'params': p, **c}, z, y, train=False))
        out = []
        for i in range(0, len(z), _CHUNK):
            zc = np.asarray(z[i:i + _CHUNK], np.float32)
            n = len(zc)
            yc = None if labels is None else np.asarray(labels[i:i + _CHUNK], np.int32)
            if n < _CHUNK:
                zc = np.concatenate([zc, np.zeros((_CHUNK - n, zc.shape[1]), np.float32)])
                yc = None if yc is None else np.concatenate([yc, np.zeros(_CHUNK - n, np.int32)])
            out.append(np.asarray(self._apply(self.params, self.collections, zc, yc), np.float32)[:n])
        return np.concatenate(out)


    def mix(self, z1: np.ndarray, z2: np.ndarray, cutoff: int) -> np.ndarray:
        """Style mixing (style-based generators): layers before ``cutoff`` take the styles of ``z1``, the
        rest those of ``z2`` (cut-offs near 0 keep ``z1``'s coarse structure out, near ``num_ws`` in)."""
        import jax

        if 'num_ws' not in dir(type(self.generator)):
            raise ArgumentError('style mixing needs a style-based generator (stylegan, stylegan2)')
        if not 0 <= cutoff <= self.generator.num_ws:
            raise ArgumentError(f'--mix-cutoff must be in 0..{self.generator.num_ws}, got {cutoff}')
        mixed = jax.jit(lambda p, c, a, b, k: self.generator.apply({'params': p, **c}, a, None, train=False,
                                                                  z2=b, cutoff=k))
        return np.asarray(mixed(self.params, self.collections, np.asarray(z1, np.float32),
                                np.asarray(z2, np.float32), np.int32(cutoff)), np.float32)


def load_sampler(workdir: str | os.PathLike[str], step: int | None = None, ema: bool = True) -> Sampler:
    """The generator of checkpoint ``step`` (default: the newest) in ``workdir``."""
    from ganjax import checkpoint

    if not Path(workdir).is_dir():
        raise CheckpointError(f'no such --workdir {workdir}')
    steps = checkpoint.saved_steps(workdir)
    if not steps:
        raise CheckpointError(f'no checkpoints in {workdir} (train first, with checkpoint.every_steps > 0)')
    if step is None:
        step = steps[-1]
    elif step not in steps:
        raise CheckpointError(f'no checkpoint step {step} in {workdir}; there are {", ".join(map(str, steps))}')
    from ganjax import games

    generator, params, collections, config = checkpoint.load_generator(workdir, step, ema)
    game = games.get_game(config, games.DataSpec(*checkpoint.saved_data(workdir, step)))
    return Sampler(generator, params, collections, config, step, ema, game.latents)


# ---------------------------------------------------------------------------------------------- outputs

def write_samples(out: Path, samples: np.ndarray, seeds: Sequence[int], z: np.ndarray,
                  labels: np.ndarray | None) -> None:
    from ganjax import viz

    out.mkdir(parents=True, exist_ok=True)
    extra = {} if labels is None else {'labels': labels}
    if samples.ndim == 4:
        images = viz.to_uint8(samples)
        from PIL import Image

        width = len(str(max(seeds)))
        for s, img in zip(seeds, images):
            Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img).save(out / f'seed{s:0{width}d}.png')
        np.savez_compressed(out / 'samples.npz', samples=images, seeds=np.asarray(seeds), z=z, **extra)
        viz.save_image_grid(out / 'grid.png', images, max_images=len(images))
    else:
        np.savez_compressed(out / 'samples.npz', samples=samples, seeds=np.asarray(seeds), z=z, **extra)
        viz.save_scatter(out / 'samples.png', samples)


def write_interpolation(out: Path, method: str, frames: np.ndarray, seeds: Sequence[int], z: np.ndarray) -> None:
    """``frames``: ``(paths, frames_per_path, ...)`` generator outputs along the latent paths ``z``."""
    from ganjax import viz

    out.mkdir(parents=True, exist_ok=True)
    paths, per_path = frames.shape[:2]
    flat = frames.reshape(paths * per_path, *frames.shape[2:])
    if frames.ndim == 5:
        images = viz.to_uint8(flat)
        np.savez_compressed(out / f'interp_{method}.npz', samples=images.reshape(frames.shape), seeds=seeds, z=z)
        viz.save_image_grid(out / f'interp_{method}.png', images, max_images=len(images), cols=per_path)
        # the GIF runs along every path and back, so it loops without a jump; a frame where two paths meet
        # or where it turns would be shown twice (Pillow merges repeated frames), so each appears once
        forward = np.concatenate([images[:per_path]] + [images[i * per_path + 1:(i + 1) * per_path]
                                                        for i in range(1, paths)])
        viz.save_gif(out / f'interp_{method}.gif', np.concatenate([forward, forward[-2:0:-1]]))
    else:
        np.savez_compressed(out / f'interp_{method}.npz', samples=frames, seeds=seeds, z=z)
        viz.save_scatter(out / f'interp_{method}.png', flat)


# ---------------------------------------------------------------------------------------------- CLI

def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(prog='python -m ganjax.sample', description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--workdir', required=True, help='the run directory (holds checkpoints/)')
    ap.add_argument('--step', type=int, default=None, help='checkpoint step (default: the newest)')
    ap.add_argument('--raw', '--no-ema', dest='ema', action='store_false',
                    help="the trained generator's own weights instead of their EMA")
    ap.add_argument('--seeds', default=None, help="e.g. '0-99' or '1,5,9' (default: 0..num-1)")
    ap.add_argument('--num', type=int, default=None, help='number of samples, seeds 0..num-1 (default 64)')
    ap.add_argument('--truncation', type=float, default=1.0, metavar='PSI', help='in [0, 1]; 1 = none')
    ap.add_argument('--class', dest='class_', type=int, default=None, metavar='K',
                    help='class label for every sample (conditional runs)')
    ap.add_argument('--interpolate', action='store_true', help='paths between consecutive seeds')
    ap.add_argument('--frames', type=int, default=16, help='latents per interpolation path, ends included')
    ap.add_argument('--method', default='slerp', help='interpolation: slerp (spherical) or lerp (linear)')
    ap.add_argument('--mix-with', type=int, default=None, metavar='SEED',
                    help='style-based runs: every sample takes the styles of SEED from --mix-cutoff on')
    ap.add_argument('--mix-cutoff', type=int, default=None, metavar='K',
                    help='first synthesis layer whose style comes from --mix-with (default: half way)')
    ap.add_argument('--out', default=None, help='output folder (default DIR/generated/step<N>-<ema|raw>)')
    return ap


def _run(args: argparse.Namespace) -> None:
    if args.seeds is not None and args.num is not None:
        raise ArgumentError('give --seeds or --num, not both')
    if args.num is not None and not 1 <= args.num <= MAX_SAMPLES:
        raise ArgumentError(f'--num must be in 1..{MAX_SAMPLES}, got {args.num}')
    seeds = parse_seeds(args.seeds) if args.seeds is not None else list(range(args.num or 64))
    check_truncation(args.truncation)
    if args.interpolate:
        interpolation_paths(np.zeros((len(seeds), 1)), args.frames, args.method)  # checks before loading
    sampler = load_sampler(args.workdir, args.step, args.ema)
    out = Path(args.out or Path(args.workdir) / 'generated' / f"step{sampler.step}-{'ema' if args.ema else 'raw'}")
    z = sampler.latents(seeds, args.truncation)
    if args.interpolate:
        labels = sampler.labels(seeds[:1], args.class_)
        paths = interpolation_paths(z, args.frames, args.method)
        flat = paths.reshape(-1, paths.shape[-1])
        frames = sampler(flat, None if labels is None else np.repeat(labels, len(flat)))
        write_interpolation(out, args.method, frames.reshape(*paths.shape[:2], *frames.shape[1:]), seeds, paths)
        print(f'wrote {len(seeds) - 1} {args.method} path(s) of {args.frames} frames from step {sampler.step} '
              f'to {out}')
        return
    if args.mix_with is not None:
        parse_seeds(str(args.mix_with))
        cutoff = args.mix_cutoff if args.mix_cutoff is not None else getattr(sampler.generator, 'num_ws', 0) // 2
        z2 = sampler.latents([args.mix_with] * len(seeds), args.truncation)
        write_samples(out, sampler.mix(z, z2, cutoff), seeds, z, None)
        print(f'wrote {len(seeds)} samples mixed with seed {args.mix_with} from layer {cutoff} to {out}')
        return
    labels = sampler.labels(seeds, args.class_)
    write_samples(out, sampler(z, labels), seeds, z, labels)
    print(f'wrote {len(seeds)} samples from step {sampler.step} ({"EMA" if args.ema else "raw"} generator) to {out}')


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(lambda: _run(args))


if __name__ == '__main__':
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    sys.exit(main())
