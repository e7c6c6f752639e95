"""Gradient penalties, computed with ``jax.grad`` nested inside the train step.

A penalty is a pure function ``(d_fn, real, fake, key, uniform) -> scalar`` where ``d_fn(x)`` returns the
discriminator's per-example outputs for a batch ``x`` with the discriminator parameters closed over. The
step passes ``uniform(key, shape)`` for the penalty's random draws: under ``pmap`` it draws the global batch's
numbers and keeps this device's slice, so devices differ and the result equals a single-device run. The
step differentiates the discriminator loss, penalty included, with respect to those parameters, so each
penalty below is a gradient of a gradient (double backward).

The input gradient of every example comes from one backward pass of ``sum(d_fn(x))``. That is exact when
the discriminator treats examples independently, which is why ganjax refuses batch norm in a
discriminator that carries a penalty (as the WGAN-GP paper also prescribes).

* ``wgan_gp`` (Gulrajani et al. 2017): ``E (|grad D(x_hat)| - t)^2`` at ``x_hat = e x + (1 - e) G(z)``,
  ``e ~ U[0, 1]`` per example; ``wgan_gp_one_sided`` penalises only norms above ``t``: ``E relu(|g| - t)^2``.
* ``r1`` / ``r2`` (Mescheder et al. 2018): ``E |grad D(x)|^2 / 2`` on real (R1) or fake (R2) samples; the
  config's weight is the paper's gamma.
* ``dragan`` (Kodali et al. 2017): the GP form at points between real data and its perturbation
  ``x + c * std(x) * u``, ``u ~ U[0, 1]``.

Lazy regularisation (Karras et al. 2020) is applied by the step: every k-th discriminator update computes
the penalty and scales it by k; the others skip it entirely (``lax.cond``).

:func:`orthogonal` is a regulariser of the generator's weights, not of D's input gradient: BigGAN's
(Brock et al. 2019) ``sum_W |W^T W * (1 - I)|_F^2`` over every kernel, seen as a matrix whose columns are
the filters, which pushes filters towards orthogonality without constraining their norms.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError

Array = jax.Array
DFn = Callable[[Array], Array]
Uniform = Callable[[Array, tuple], Array]
Penalty = Callable[[DFn, Array, Array, Array, Uniform], Array]


def input_grad_norms(d_fn: DFn, x: Array) -> Array:
    """Per-example L2 norm of ``d D(x_i) / d x_i``; shape ``(batch,)``."""
    grads = jax.grad(lambda v: jnp.sum(d_fn(v)))(x)
    sq = jnp.sum(jnp.square(grads).reshape(grads.shape[0], -1), axis=1)
    return jnp.sqrt(sq + 1e-12)  # epsilon keeps the norm's gradient finite at a zero input gradient


def input_grad_sq_norms(d_fn: DFn, x: Array) -> Array:
    """Per-example squared L2 norm of the input gradient (no square root, so no epsilon needed)."""
    grads = jax.grad(lambda v: jnp.sum(d_fn(v)))(x)
    return jnp.sum(jnp.square(grads).reshape(grads.shape[0], -1), axis=1)


def _per_example_uniform(uniform: Uniform, key: Array, x: Array) -> Array:
    return uniform(key, (x.shape[0],) + (1,) * (x.ndim - 1))


def wgan_gp(target: float = 1.0, one_sided: bool = False) -> Penalty:
    def penalty(d_fn, real, fake, key, uniform=jax.random.uniform):
        eps = _per_example_uniform(uniform, key, real)
        x_hat = eps * real + (1.0 - eps) * fake
        excess = input_grad_norms(d_fn, x_hat) - target
        if one_sided:
            excess = jax.nn.relu(excess)
        return jnp.mean(jnp.square(excess))

    return penalty


def r1() -> Penalty:
    return lambda d_fn, real, fake, key, uniform=None: 0.5 * jnp.mean(input_grad_sq_norms(d_fn, real))


def r2() -> Penalty:
    return lambda d_fn, real, fake, key, uniform=None: 0.5 * jnp.mean(input_grad_sq_norms(d_fn, fake))


def dragan(target: float = 1.0, c: float = 0.5) -> Penalty:
    def penalty(d_fn, real, fake, key, uniform=jax.random.uniform):
        k_noise, k_mix = jax.random.split(key)
        perturbed = real + c * jnp.std(real) * uniform(k_noise, real.shape)
        alpha = _per_example_uniform(uniform, k_mix, real)
        x_hat = alpha * real + (1.0 - alpha) * perturbed
        return jnp.mean(jnp.square(input_grad_norms(d_fn, x_hat) - target))

    return penalty


def orthogonal(params) -> Array:
    """BigGAN's off-diagonal orthogonal regularisation of every kernel (ndim >= 2) in ``params``."""
    total = jnp.zeros((), jnp.float32)
    for path, w in jax.tree_util.tree_leaves_with_path(params):
        if w.ndim < 2 or 'kernel' not in jax.tree_util.keystr(path):
            continue
        w = w.reshape(-1, w.shape[-1])
        gram = w.T @ w
        total = total + jnp.sum(jnp.square(gram * (1.0 - jnp.eye(gram.shape[0], dtype=gram.dtype))))
    return total


@dataclasses.dataclass(frozen=True)
class PenaltySpec:
    """A resolved ``config.penalty``: the function, its weight and its lazy interval."""

    name: str
    fn: Penalty | None
    weight: float
    every: int

    @property
    def active(self) -> bool:
        return self.fn is not None and self.weight != 0.0


def get_penalty(cfg) -> PenaltySpec:
    """Resolve ``config.penalty`` (name, weight, target, every, dragan_c)."""
    makers: dict[str, Callable[[], Penalty | None]] = {
        'none': lambda: None,
        'wgan_gp': lambda: wgan_gp(cfg.target),
        'wgan_gp_one_sided': lambda: wgan_gp(cfg.target, one_sided=True),
        'r1': r1,
        'r2': r2,
        'dragan': lambda: dragan(cfg.target, cfg.dragan_c),
    }
    if cfg.name not in makers:
        raise ConfigError(f"unknown penalty.name {cfg.name!r}; valid names: {', '.join(sorted(makers))}")
    if int(cfg.every) < 1:
        raise ConfigError(f'penalty.every must be >= 1, got {cfg.every}')
    if cfg.weight < 0:
        raise ConfigError(f'penalty.weight must be >= 0, got {cfg.weight}')
    return PenaltySpec(cfg.name, makers[cfg.name](), float(cfg.weight), int(cfg.every))
