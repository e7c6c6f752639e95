"""The one immutable train state, keyed by network, and the optimisers it carries the states of.

:class:`GANState` holds everything training changes, as tables keyed by network name (``'G'``, ``'D'``,
``'Q'``, ``'G_ab'``, ...): parameters, other collections (batch statistics, spectral-norm vectors),
optimiser states and exponential moving averages, plus ``extra``, the small state a game carries of its
own (a path-length mean, an augmentation probability, an image pool, a fade-in alpha), the step and the
PRNG key. A step returns a new state; a checkpoint of this object plus the config is a complete run.

Optimisers are built once, per network, by :func:`make_optimizers` from ``config.train`` and the game's
:class:`~ganjax.games.core.OptimizerSpec` of each network, and handed both to :func:`create_state` (to
initialise their states) and to the step (to apply them).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import flax
import jax
import jax.numpy as jnp
import optax

from ganjax.errors import ConfigError

PyTree = Any


@flax.struct.dataclass
class GANState:
    step: jax.Array  # steps done (int32 scalar); step t's key is fold_in(rng, t)
    params: dict[str, PyTree]  # network name -> its parameters
    collections: dict[str, PyTree]  # network name -> its other variables ({'batch_stats': ...}; {} when none)
    opt_states: dict[str, PyTree]  # network name -> its optimiser state (one per network, shared by its updates)
    ema: dict[str, PyTree]  # network name -> moving average of its parameters (networks the game samples with)
    extra: dict[str, PyTree]  # the game's own small state, checkpointed like everything else
    rng: jax.Array  # base key; never changes


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
    if name == 'constant_then_linear':  # CycleGAN/Pix2Pix: the first half at lr, then linearly to 0
        half = max(total, 2) // 2
        return optax.join_schedules([optax.constant_schedule(lr),
                                     optax.linear_schedule(lr, 0.0, max(total, 2) - half)], [half])
    raise ConfigError(f"unknown train.lr_schedule {name!r}; valid: constant, linear, cosine, "
                      "constant_then_linear")


def make_optimizer(train_cfg, lr: float, updates_per_step: int = 1,
                   weight_clip: float = 0.0) -> optax.GradientTransformation:
    """One network's optimiser: ``train.optimizer`` at rate ``lr``, decayed by ``train.lr_schedule`` over
    the run's ``num_steps * updates_per_step`` updates, then clipped to ``[-weight_clip, weight_clip]``."""
    if lr <= 0:
        raise ConfigError(f'learning rates must be > 0, got {lr}')
    lr = _schedule(train_cfg.lr_schedule, lr, train_cfg.num_steps * updates_per_step)
    name = train_cfg.optimizer
    if name == 'adam':
        tx = optax.adam(lr, b1=train_cfg.b1, b2=train_cfg.b2)
    elif name == 'rmsprop':
        tx = optax.rmsprop(lr)
    elif name == 'sgd':
        tx = optax.sgd(lr)
    else:
        raise ConfigError(f"unknown train.optimizer {name!r}; valid: adam, rmsprop, sgd")
    if weight_clip < 0:
        raise ConfigError(f'train.weight_clip must be >= 0, got {weight_clip}')
    return optax.chain(tx, clip_params(weight_clip)) if weight_clip > 0 else tx


def make_optimizers(train_cfg, game) -> dict[str, optax.GradientTransformation]:
    """Every trained network's optimiser, from ``config.train`` and the game's per-network settings."""
    return {name: make_optimizer(train_cfg, net.optimizer.lr, net.optimizer.updates_per_step,
                                 net.optimizer.weight_clip)
            for name, net in game.networks.items() if net.optimizer is not None}


def sample_latent(key: jax.Array, shape: tuple[int, ...], dist: str = 'normal') -> jax.Array:
    if dist == 'normal':
        return jax.random.normal(key, shape)
    if dist == 'uniform':
        return jax.random.uniform(key, shape, minval=-1.0, maxval=1.0)
    raise ConfigError(f"unknown model.latent_dist {dist!r}; valid: normal, uniform")


def latent_sampler(dist: str) -> Callable[[jax.Array, tuple[int, ...]], jax.Array]:
    """``(key, shape) -> draws`` of ``dist``; an unknown name raises the ConfigError here, when a game is
    built, rather than inside a traced step."""
    sample_latent(jax.random.PRNGKey(0), (1,), dist)
    return functools.partial(sample_latent, dist=dist)


def split_variables(variables) -> tuple[PyTree, PyTree]:
    """Flax variables -> ``(params, every other collection)``."""
    variables = dict(flax.core.unfreeze(variables))
    params = variables.pop('params', {})
    return params, variables


def create_state(seed: int, game, optimizers: Mapping[str, optax.GradientTransformation]) -> GANState:
    """Initialise every network of ``game`` and its optimiser from ``seed``.

    The root key is split into one key per network, in the game's order, and one for the run, so a game of
    two networks ``(G, D)`` draws exactly what the two-network state of earlier ganjax versions drew.
    """
    keys = jax.random.split(jax.random.PRNGKey(seed), len(game.networks) + 1)
    params, collections = {}, {}
    for key, (name, net) in zip(keys, game.networks.items()):
        params[name], collections[name] = split_variables(net.module.init(key, *net.init_args, train=False))
    return GANState(
        step=jnp.zeros((), jnp.int32), params=params, collections=collections,
        opt_states={name: tx.init(params[name]) for name, tx in optimizers.items()},
        ema={name: jax.tree.map(jnp.copy, params[name]) for name, net in game.networks.items() if net.ema},
        extra=game.init_extra(), rng=keys[-1])
