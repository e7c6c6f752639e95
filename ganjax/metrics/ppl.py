"""Perceptual path length (Karras et al. 2019, section 3 and appendix; StyleGAN2's variant in w).

For pairs of latents ``(z0, z1)`` and ``t ~ U(0, 1)`` ('full' sampling) or ``t = 0`` ('end' sampling:
the path's end points), the images at ``t`` and ``t + eps`` along the interpolation path are compared:

    PPL = E[ d(G(p(t)), G(p(t + eps))) / eps^2 ],

with ``p`` the spherical interpolation (slerp) of ``z0, z1`` in z space, or the linear one (lerp) of
their mapped ``w0, w1`` in w space (every layer's copy of w moves together), ``eps = 1e-4``. Distances
below the 1st and above the 99th percentile are dropped before the mean (the paper's outlier filter).
Noise inputs are constant (the generator in inference mode), as in the reference implementation.

The perceptual distance ``d`` of the paper is LPIPS (VGG16 features with learned weights). Those weights
are not reachable offline, so ganjax substitutes the squared L2 distance between the FID Inception's
pool3 features (:class:`ganjax.metrics.fid.InceptionFeatures`): the same protocol with another feature
space, so values are NOT comparable with published PPL figures, only with each other. Any function
``images -> (N, D) features`` can be passed instead.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.errors import ConfigError

SPACES = ('z', 'w')
SAMPLINGS = ('full', 'end')


def slerp(a: jax.Array, b: jax.Array, t: jax.Array) -> jax.Array:
    """Spherical interpolation between the directions of ``a`` and ``b`` (rows), as in the paper's code:
    normalised end points, the result normalised too (the generator normalises z anyway)."""
    a = a / jnp.linalg.norm(a, axis=-1, keepdims=True)
    b = b / jnp.linalg.norm(b, axis=-1, keepdims=True)
    d = jnp.clip(jnp.sum(a * b, axis=-1, keepdims=True), -1.0, 1.0)
    p = t * jnp.arccos(d)
    c = b - d * a
    c = c / jnp.linalg.norm(c, axis=-1, keepdims=True)
    out = a * jnp.cos(p) + c * jnp.sin(p)
    return out / jnp.linalg.norm(out, axis=-1, keepdims=True)


def lerp(a: jax.Array, b: jax.Array, t: jax.Array) -> jax.Array:
    return a + (b - a) * t


def filtered_mean(distances: np.ndarray) -> float:
    """Mean of the distances within the 1st..99th percentiles (the paper's outlier filter)."""
    lo, hi = np.percentile(distances, 1, method='lower'), np.percentile(distances, 99, method='higher')
    return float(np.mean(distances[(distances >= lo) & (distances <= hi)]))


def path_endpoints(generator, variables, key: jax.Array, n: int, latent_dim: int, space: str, sampling: str,
                   epsilon: float) -> tuple[jax.Array, jax.Array]:
    """The two image batches at ``t`` and ``t + eps`` of ``n`` paths drawn from ``key``: ``z0, z1`` are
    normal draws from the first two of ``split(key, 3)``, ``t`` a uniform one from the third."""
    k0, k1, kt = jax.random.split(key, 3)
    z0, z1 = jax.random.normal(k0, (n, latent_dim)), jax.random.normal(k1, (n, latent_dim))
    t = jax.random.uniform(kt, (n, 1)) * (1.0 if sampling == 'full' else 0.0)
    run = lambda *a, **k: generator.apply(variables, *a, None, train=False, **k)
    if space == 'z':
        return run(slerp(z0, z1, t)), run(slerp(z0, z1, t + epsilon))
    w0, w1 = run(z0, method='styles'), run(z1, method='styles')
    t = t[:, None]
    return run(z0, ws=lerp(w0, w1, t)), run(z0, ws=lerp(w0, w1, t + epsilon))


def perceptual_path_length(generator, variables, features: Callable[[Any], np.ndarray], latent_dim: int, *,
                           num_samples: int = 100_000, space: str = 'w', sampling: str = 'end',
                           epsilon: float = 1e-4, batch_size: int = 64, seed: int = 0) -> float:
    """PPL of a style-based ``generator`` (``variables = {'params': ..., 'style': ...}``) over
    ``num_samples`` paths, with ``features`` the perceptual feature map (squared L2 distance). Batch
    ``i``'s paths come from ``fold_in(PRNGKey(seed), i)`` (see :func:`path_endpoints`)."""
    if space not in SPACES or sampling not in SAMPLINGS:
        raise ConfigError(f'PPL space must be one of {SPACES} and sampling one of {SAMPLINGS}')
    if not (epsilon > 0 and num_samples > 0 and batch_size > 0):
        raise ConfigError('PPL needs epsilon, num_samples and batch_size > 0')
    ends = jax.jit(lambda v, k: path_endpoints(generator, v, k, batch_size, latent_dim, space, sampling, epsilon))
    dists = []
    for i in range(-(-num_samples // batch_size)):
        a, b = ends(variables, jax.random.fold_in(jax.random.PRNGKey(seed), i))
        fa, fb = np.asarray(features(np.asarray(a)), np.float64), np.asarray(features(np.asarray(b)), np.float64)
        dists.append(np.sum(np.square(fa - fb), axis=1) / epsilon**2)
    return filtered_mean(np.concatenate(dists)[:num_samples])


def inception_features(batch_size: int = 50) -> Callable[[Any], np.ndarray]:
    """The FID Inception's pool3 features of images in [-1, 1]: ganjax's documented LPIPS substitute."""
    from ganjax.metrics.fid import InceptionFeatures

    return InceptionFeatures(batch_size=batch_size).features


def main(argv: list[str] | None = None) -> int:
    """``python -m ganjax.metrics.ppl --workdir=DIR``: PPL of a style-based run's EMA generator."""
    import sys

    from ganjax.cli import OneLineParser, guarded

    ap = OneLineParser(prog='python -m ganjax.metrics.ppl', description=__doc__.split('\n')[0])
    ap.add_argument('--workdir', required=True, help='a run of a style-based game (stylegan, stylegan2, ...)')
    ap.add_argument('--num', type=int, default=10_000, help='number of paths (the paper: 100,000)')
    ap.add_argument('--space', default='w', choices=SPACES)
    ap.add_argument('--sampling', default='end', choices=SAMPLINGS)
    ap.add_argument('--epsilon', type=float, default=1e-4)
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args(argv)

    def run() -> None:
        from ganjax.errors import ArgumentError
        from ganjax.sample import load_sampler

        sampler = load_sampler(args.workdir)
        if 'num_ws' not in dir(type(sampler.generator)):
            raise ArgumentError(f'{args.workdir} is not a run of a style-based generator')
        value = perceptual_path_length(sampler.generator, {'params': sampler.params, **sampler.collections},
                                       inception_features(), int(sampler.config.model.latent_dim),
                                       num_samples=args.num, space=args.space, sampling=args.sampling,
                                       epsilon=args.epsilon, seed=args.seed)
        print(f'ppl_{args.space}_{args.sampling} {value:.2f} (step {sampler.step}, {args.num} paths, '
              'Inception pool3 distance)', file=sys.stdout)

    return guarded(run)


if __name__ == '__main__':
    raise SystemExit(main())
