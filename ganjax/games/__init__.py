"""Games, chosen by ``config.game.name``, and the config resolved into what the step engine takes.

A game is a Python module with a function ``build(config, spec, axis_name=None) -> Game`` (see
:mod:`ganjax.games.core`). ``game.name`` is one of ganjax's games (``adversarial``) or the dotted path of
any importable module with a ``build`` function, so a new game is a new file, never an edit of the
step engine, the train loop or the config checks.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable

import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update  # noqa: F401  (the game API)

BUILTIN = {'adversarial': 'ganjax.games.adversarial', 'infogan': 'ganjax.games.infogan',
           'pix2pix': 'ganjax.games.pix2pix', 'cyclegan': 'ganjax.games.cyclegan',
           'progan': 'ganjax.games.progan', 'stylegan': 'ganjax.games.stylegan',
           'stylegan2': 'ganjax.games.stylegan2', 'stylegan3': 'ganjax.games.stylegan3'}


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What a game needs to know of the data: one example's shape and the number of classes (0 = none)."""

    example_shape: tuple[int, ...]
    num_classes: int = 0


def _module(name: str):
    path = BUILTIN.get(name, name if '.' in name else None)
    if path is None:
        raise ConfigError(f"unknown game.name {name!r}; valid: {', '.join(sorted(BUILTIN))} or the dotted "
                          'path of a module with a build(config, spec, axis_name) function')
    try:
        module = importlib.import_module(path)
    except ImportError as e:
        raise ConfigError(f'game.name {name!r}: cannot import {path} ({e})') from None
    if not callable(getattr(module, 'build', None)):
        raise ConfigError(f'game.name {name!r}: module {path} has no build(config, spec, axis_name) function')
    return module


def get_game(config, spec: DataSpec, axis_name: str | None = None) -> Game:
    """Build the game ``config.game.name`` names for data of ``spec``; ``axis_name`` is the device axis
    that cross-replica layers (batch norm) synchronise over under ``pmap``."""
    return _module(config.game.name).build(config, spec, axis_name)


def step_options(config) -> dict:
    """The step engine's options from ``config.train``: loop kind and EMA."""
    from ganjax.models.layers import resolve_critic_loop

    decay = float(config.train.ema_decay)
    if not 0.0 <= decay < 1.0:
        raise ConfigError(f'train.ema_decay must be in [0, 1), got {decay}')
    return {'loop': resolve_critic_loop(config.train.critic_loop, config.model.conv_impl),
            'ema_decay': decay, 'ema_start': int(config.train.ema_start)}


def setup(config, spec: DataSpec, axis_name: str | None = None):
    """``(game, optimizers, state, step)`` of ``config``: everything a training run starts from, with the
    step un-compiled (wrap it in ``jax.jit`` or :meth:`ganjax.parallel.Parallel.compile`)."""
    from ganjax.state import create_state, make_optimizers
    from ganjax.step import make_train_step

    game = get_game(config, spec, axis_name)
    optimizers = make_optimizers(config.train, game)
    step = make_train_step(game, optimizers, axis_name=axis_name, **step_options(config))
    return game, optimizers, create_state(config.seed, game, optimizers), step


def make_sample_fn(game: Game) -> Callable:
    """``sample(params, collections, z, cond) -> samples`` of the game's sampler network in inference
    mode, compiled (build ``game`` without an ``axis_name``)."""
    module = game.networks[game.sampler].module

    @jax.jit
    def sample(params, collections, z, cond=None):
        return module.apply({'params': params, **collections}, z, cond, train=False)

    return sample


STANDING_KEY = 0x57A7  # the fixed key of standing statistics, so a checkpoint always samples the same


def standing_collections(game: Game, params, collections, num_classes: int = 0, *, batches: int = 50,
                         batch_size: int = 256):
    """The sampler's collections re-estimated for ``params`` (BigGAN's "standing statistics").

    A generator with cross-example state (batch norm) keeps running statistics of the raw weights' batches
    during training; sampled with the EMA of its weights, those statistics do not belong to the weights
    that use them. This runs the network in training mode on ``batches`` batches of latents (classes
    cycling, when ``num_classes``) from a fixed key, so that the running averages (momentum 0.9 in
    ganjax's models: the last ~20 batches weigh 90%) are those of ``params``; spectral-norm vectors
    converge for them too. A network without cross-example state is returned unchanged.
    """
    module = game.networks[game.sampler].module
    if not module.cross_example_state or not collections:
        return collections

    @jax.jit
    def one(cols, key):
        z = game.draw_latents(key, batch_size)
        labels = jnp.arange(batch_size, dtype=jnp.int32) % num_classes if num_classes else None
        _, updated = module.apply({'params': params, **cols}, z, labels, train=True, mutable=list(cols))
        return {**cols, **updated}

    for key in jax.random.split(jax.random.PRNGKey(STANDING_KEY), batches):
        collections = one(collections, key)
    return collections
