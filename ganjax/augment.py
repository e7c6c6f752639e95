"""Differentiable image augmentations for the discriminator: DiffAugment and ADA's pipeline.

Both augment what D sees, real and fake, in both updates, with transformations that are differentiable
in the image, so G's gradient flows through them (the point of both papers: augmenting only the reals
teaches G to make augmented images). Every random number is drawn through ``draw(sampler, key, shape)``
(``ganjax.games.core.Context.draw``): under ``pmap`` each device takes its slice of the global batch's
draw, so a run augments exactly as a single-device run of the same global batch. Images are NHWC.

DiffAugment (Zhao et al. 2020), per example, with the paper's constants:

* ``color``: brightness ``x + (u - 0.5)``; saturation ``(x - mean_c x) * 2u + mean_c x`` (mean over the
  channels of each pixel); contrast ``(x - mean x) * (u + 0.5) + mean x`` (mean over the image), each
  ``u ~ U[0, 1)`` drawn per example;
* ``translation``: shift by whole pixels ``(dy, dx)``, each uniform in ``[-s, s]`` with ``s = round(H / 8)``
  (``W / 8``), filling with zeros: ``y[i, j] = x[i + dy, j + dx]`` where that pixel exists, else 0;
* ``cutout``: zero a square of side ``c = round(H / 2)`` whose top-left corner is ``(cy - c // 2,
  cx - c // 2)``, ``cy`` uniform in ``[0, H + (1 - c % 2))`` (clipped at the borders).

ADA (Karras et al. 2020): each transformation of a pipeline applies to each example with probability
``p`` (the game adapts ``p``; see :func:`ganjax.stabilisers.ada_adjust`). ganjax's pipeline is the
paper's pixel blitting and colour groups without the geometric resampling ones (scale, arbitrary
rotation, anisotropy, fractional translation) and hue/luma flips: x-flip, a rotation by a multiple of 90
degrees, integer translation (up to 1/8 of the side, zero fill), brightness ``+ N(0, 0.2)``, contrast
``x lognormal(0, 0.5 ln 2)`` about the image mean and saturation ``x lognormal(0, ln 2)`` about each
pixel's channel mean. The missing groups are the ones whose bilinear resampling costs most on a CPU.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.errors import ConfigError

Draw = Callable[[Callable, jax.Array, tuple], jax.Array]
DIFFAUGMENT_OPS = ('color', 'translation', 'cutout')


def plain_draw(sampler: Callable, key: jax.Array, shape: tuple) -> jax.Array:
    """One device's draw: ``sampler(key, shape)`` (what ``Context.draw`` is without ``pmap``)."""
    return sampler(key, shape)


def _uniform(draw: Draw, key: jax.Array, n: int) -> jax.Array:
    return draw(jax.random.uniform, key, (n,))


def _per_example(v: jax.Array) -> jax.Array:
    return v[:, None, None, None]


def brightness(x: jax.Array, u: jax.Array) -> jax.Array:
    return x + _per_example(u - 0.5)


def saturation(x: jax.Array, u: jax.Array) -> jax.Array:
    m = jnp.mean(x, axis=3, keepdims=True)
    return (x - m) * _per_example(2.0 * u) + m


def contrast(x: jax.Array, u: jax.Array) -> jax.Array:
    m = jnp.mean(x, axis=(1, 2, 3), keepdims=True)
    return (x - m) * _per_example(u + 0.5) + m


def translate(x: jax.Array, dy: jax.Array, dx: jax.Array) -> jax.Array:
    """``y[n, i, j] = x[n, i + dy[n], j + dx[n]]`` where that pixel exists, 0 elsewhere (a gather, so
    the gradient reaches the pixels that were moved)."""
    _, h, w, _ = x.shape
    rows = jnp.arange(h)[None, :] + dy[:, None]  # (N, H)
    cols = jnp.arange(w)[None, :] + dx[:, None]
    inside = (((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :])
    take = jax.vmap(lambda img, r, c: img[jnp.clip(r, 0, h - 1)][:, jnp.clip(c, 0, w - 1)])
    return jnp.where(inside[..., None], take(x, rows, cols), 0.0)


def cutout(x: jax.Array, cy: jax.Array, cx: jax.Array, size: tuple[int, int]) -> jax.Array:
    """Zero rows ``[cy - sy // 2, cy - sy // 2 + sy)`` x columns likewise, per example."""
    _, h, w, _ = x.shape
    sy, sx = size
    top, left = cy - sy // 2, cx - sx // 2
    r, c = jnp.arange(h)[None, :], jnp.arange(w)[None, :]
    in_r = (r >= top[:, None]) & (r < top[:, None] + sy)
    in_c = (c >= left[:, None]) & (c < left[:, None] + sx)
    keep = ~(in_r[:, :, None] & in_c[:, None, :])
    return x * keep[..., None].astype(x.dtype)


def translation_range(side: int, ratio: float = 0.125) -> int:
    return int(side * ratio + 0.5)


def parse_policy(policy: str) -> tuple[str, ...]:
    """``'color,translation,cutout'`` -> its ops, checked now rather than inside a trace."""
    ops = tuple(p.strip() for p in policy.split(',') if p.strip())
    unknown = [op for op in ops if op not in DIFFAUGMENT_OPS]
    if unknown:
        raise ConfigError(f"unknown stabilise.diffaugment op(s) {unknown}; valid: {', '.join(DIFFAUGMENT_OPS)}")
    return ops


def diffaugment(x: jax.Array, ops: tuple[str, ...], key: jax.Array, draw: Draw = plain_draw) -> jax.Array:
    """DiffAugment of the images ``x`` with the ops of ``ops`` in the paper's order (colour, translation,
    cutout), each drawing fresh per-example parameters from ``key``."""
    n, h, w, _ = x.shape
    keys = iter(jax.random.split(key, 7))
    if 'color' in ops:
        x = brightness(x, _uniform(draw, next(keys), n))
        x = saturation(x, _uniform(draw, next(keys), n))
        x = contrast(x, _uniform(draw, next(keys), n))
    if 'translation' in ops:
        sy, sx = translation_range(h), translation_range(w)
        dy = draw(lambda k, s: jax.random.randint(k, s, -sy, sy + 1), next(keys), (n,))
        dx = draw(lambda k, s: jax.random.randint(k, s, -sx, sx + 1), next(keys), (n,))
        x = translate(x, dy, dx)
    if 'cutout' in ops:
        cy_, cx_ = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
        cy = draw(lambda k, s: jax.random.randint(k, s, 0, h + (1 - cy_ % 2)), next(keys), (n,))
        cx = draw(lambda k, s: jax.random.randint(k, s, 0, w + (1 - cx_ % 2)), next(keys), (n,))
        x = cutout(x, cy, cx, (cy_, cx_))
    return x


def rotate90(x: jax.Array, k: jax.Array) -> jax.Array:
    """Example ``n`` rotated by ``k[n]`` quarter turns (square images)."""
    turns = [jnp.rot90(x, t, axes=(1, 2)) for t in range(4)]
    return jnp.select([_per_example(k == t) for t in range(4)], turns)


def ada(x: jax.Array, p: jax.Array, key: jax.Array, draw: Draw = plain_draw) -> jax.Array:
    """ADA's augmentations (see the module docstring), each applied to each example with probability ``p``."""
    n, h, w, _ = x.shape
    keys = iter(jax.random.split(key, 14))

    def maybe(y: jax.Array, f: Callable[[jax.Array], jax.Array]) -> jax.Array:
        on = _uniform(draw, next(keys), n) < p
        return jnp.where(_per_example(on), f(y), y)

    x = maybe(x, lambda y: y[:, :, ::-1])
    if h == w:
        k = draw(lambda kk, s: jax.random.randint(kk, s, 0, 4), next(keys), (n,))
        x = maybe(x, lambda y: rotate90(y, k))
    sy, sx = translation_range(h), translation_range(w)
    dy = draw(lambda kk, s: jax.random.randint(kk, s, -sy, sy + 1), next(keys), (n,))
    dx = draw(lambda kk, s: jax.random.randint(kk, s, -sx, sx + 1), next(keys), (n,))
    x = maybe(x, lambda y: translate(y, dy, dx))
    b = 0.2 * draw(jax.random.normal, next(keys), (n,))
    x = maybe(x, lambda y: y + _per_example(b))
    c = jnp.exp(0.5 * np.log(2.0) * draw(jax.random.normal, next(keys), (n,)))
    x = maybe(x, lambda y: contrast(y, c - 0.5))  # contrast(y, u) scales by u + 0.5
    s = jnp.exp(np.log(2.0) * draw(jax.random.normal, next(keys), (n,)))
    x = maybe(x, lambda y: saturation(y, s / 2.0))  # saturation(y, u) scales by 2u
    return x
