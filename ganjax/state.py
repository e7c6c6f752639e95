"""The one immutable train state, and the optimisers it carries the states of.

:class:`GANState` holds everything training changes: both networks' parameters and their other
collections (batch statistics), both optimiser states, the generator's EMA, the step and the PRNG key. A
step returns a new state; a checkpoint of this object plus the config is a complete run.
"""

from __future__ import annotations

from typing import Any

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from ganjax.errors import ConfigError

PyTree = Any


@flax.struct.dataclass
class GANState:
    step: jax.Array  # generator updates done (int32 scalar)
    g_params: PyTree
    d_params: PyTree
    g_collections: PyTree  # non-param variables of G, e.g. {'batch_stats': ...}; {} when none
    d_collections: PyTree
    g_opt_state: PyTree
    d_opt_state: PyTree
    ema_params: PyTree  # exponential moving average of g_params, used for sampling
    rng: jax.Array  # base key; the key of step t is fold_in(rng, t), so it never needs to change


def clip_params(limit: float) -> optax.GradientTransformation:
    """WGAN weight clipping as an optax transformation: chained after an optimiser, it rewrites the
    updates so that ``params + updates`` lies in ``[-limit, limit]`` (Arjovsky et al. 2017)."""

    def init(params):
        del params
        return optax.EmptyState()

    def update(updates, state, params=None):
        if params is None:
            raise ValueError('clip_params needs the params to clip')
        clipped = jax.tree.map(lambda p, u: jnp.clip(p + u, -limit, limit) - p, params, updates)
        return clipped, state

    return optax.GradientTransformation(init, update)


def _schedule(name: str, lr: float, total: int):
    """Constant rate, or a decay to 0 over the run (sharpens converged samples without longer runs)."""
    if name == 'constant':
        return lr
    if name == 'linear':
        return optax.linear_schedule(lr, 0.0, max(total, 1))
    if name == 'cosine':
        return optax.cosine_decay_schedule(lr, max(total, 1))
    raise ConfigError(f"unknown train.lr_schedule {name!r}; valid: constant, linear, cosine")


def make_optimizers(train_cfg) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
    """``(g_tx, d_tx)`` from ``config.train``: separate rates for G and D (TTUR), clipping for D."""

    def one(lr, updates_per_step):
        if lr <= 0:
            raise ConfigError(f'learning rates must be > 0, got {lr}')
        lr = _schedule(train_cfg.lr_schedule, lr, train_cfg.num_steps * updates_per_step)
        name = train_cfg.optimizer
        if name == 'adam':
            return optax.adam(lr, b1=train_cfg.b1, b2=train_cfg.b2)
        if name == 'rmsprop':
            return optax.rmsprop(lr)
        if name == 'sgd':
            return optax.sgd(lr)
        raise ConfigError(f"unknown train.optimizer {name!r}; valid: adam, rmsprop, sgd")

    d_tx = one(train_cfg.d_lr, train_cfg.d_steps)
    if train_cfg.weight_clip < 0:
        raise ConfigError(f'train.weight_clip must be >= 0, got {train_cfg.weight_clip}')
    if train_cfg.weight_clip > 0:
        d_tx = optax.chain(d_tx, clip_params(train_cfg.weight_clip))
    return one(train_cfg.g_lr, 1), d_tx


def sample_latent(key: jax.Array, shape: tuple[int, ...], dist: str = 'normal') -> jax.Array:
    if dist == 'normal':
        return jax.random.normal(key, shape)
    if dist == 'uniform':
        return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
    raise ConfigError(f"unknown model.latent_dist {dist!r}; valid: normal, uniform")


def _split_variables(variables) -> tuple[PyTree, PyTree]:
    variables = flax.core.unfreeze(variables)
    params = variables.pop('params')
    return params, variables


def create_state(config, generator: nn.Module, discriminator: nn.Module,
                 example_shape: tuple[int, ...], num_classes: int = 0) -> GANState:
    """Initialise both networks and optimisers from ``config.seed``."""
    root = jax.random.PRNGKey(config.seed)
    k_g, k_d, k_run = jax.random.split(root, 3)
    z = jnp.zeros((2, config.model.latent_dim), jnp.float32)
    x = jnp.zeros((2, *example_shape), jnp.float32)
    labels = jnp.zeros((2,), jnp.int32) if num_classes else None
    g_params, g_cols = _split_variables(generator.init(k_g, z, labels, train=False))
    d_params, d_cols = _split_variables(discriminator.init(k_d, x, labels, train=False))
    g_tx, d_tx = make_optimizers(config.train)
    return GANState(
        step=jnp.zeros((), jnp.int32),
        g_params=g_params, d_params=d_params, g_collections=g_cols, d_collections=d_cols,
        g_opt_state=g_tx.init(g_params), d_opt_state=d_tx.init(d_params),
        ema_params=jax.tree.map(jnp.copy, g_params), rng=k_run)
