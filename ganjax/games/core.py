"""What a game is: its networks, its updates and the context the step engine hands each update's loss.

A :class:`Game` is plain data built once from the config at the edge of the program:

* ``networks``: name -> :class:`Network` (a Flax module, the example inputs it is initialised with, its
  optimiser settings, whether an EMA of it is kept). Names are the keys of every table in
  :class:`~ganjax.state.GANState`.
* ``updates``: the :class:`Update` s the step runs in order. Each names the networks its gradient trains
  and gives a pure loss ``loss(params, ctx) -> (scalar, aux)``; it may repeat (critic steps) or run
  lazily every k steps.
* ``batch_splits``: how many sub-batches a step's batch holds (``d_steps`` for critic updates).
* ``init_extra``: the game's own small state (``{}`` for most games).
* ``sampler``: the network that generates samples (what :func:`~ganjax.checkpoint.load_generator` and
  the train loop's pictures use), with ``latent_dim``/``latent_dist`` of its input, or ``latents``, a
  function ``(key, n) -> z`` for a game whose input is not one plain distribution (InfoGAN's codes).

The engine in :mod:`ganjax.step` knows only this module: never a loss, a penalty, a model or a family.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from ganjax.state import sample_latent

PyTree = Any
Aux = dict[str, Any]  # optional keys: 'metrics', 'collections' (name -> new collections), 'extra' (updates)
LossFn = Callable[[dict[str, PyTree], 'Context'], tuple[jax.Array, Aux]]


@dataclasses.dataclass(frozen=True)
class OptimizerSpec:
    """A network's own optimiser settings; the rest (kind, betas, schedule) come from ``config.train``.

    ``updates_per_step`` is how many times per step the network's updates apply its optimiser, so that
    a learning-rate schedule decays over the run's real number of updates.
    """

    lr: float
    updates_per_step: int = 1
    weight_clip: float = 0.0


@dataclasses.dataclass(frozen=True)
class Network:
    """One network of a game.

    ``init_args`` are example inputs for ``module.init(key, *init_args, train=False)``; ``optimizer`` is
    None for a network that no update trains; ``ema`` keeps a moving average of its parameters (the
    generators a game samples with).
    """

    module: nn.Module
    init_args: tuple
    optimizer: OptimizerSpec | None = None
    ema: bool = False


@dataclasses.dataclass(frozen=True)
class Update:
    """One update of a step: the gradient of ``loss`` with respect to the ``trains`` networks, applied
    with their optimisers.

    ``repeat=None`` runs once per step on the step's last sub-batch, with the update's key as it is.
    ``repeat=k`` runs k times in a row (critic updates; scanned or unrolled as the step is built),
    repetition ``i`` on sub-batch ``batch_splits - k + i`` with key ``split(key, k)[i]``.
    ``every=k`` runs the update on steps divisible by k only, with its loss scaled by k (lazy
    regularisation, Karras et al. 2020), and skips it entirely (no optimiser step) otherwise.
    """

    name: str
    trains: tuple[str, ...]
    loss: LossFn
    repeat: int | None = None
    every: int = 1


@dataclasses.dataclass(frozen=True)
class Game:
    networks: Mapping[str, Network]
    updates: tuple[Update, ...]
    batch_splits: int = 1
    sampler: str = 'G'
    latent_dim: int = 0
    latent_dist: str = 'normal'
    latents: Callable[[jax.Array, int], jax.Array] | None = None
    init_extra: Callable[[], dict[str, PyTree]] = dict

    def draw_latents(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` inputs of the sampler network."""
        if self.latents is not None:
            return self.latents(key, n)
        return sample_latent(key, (n, self.latent_dim), self.latent_dist)

    def __post_init__(self):
        for u in self.updates:
            missing = [n for n in u.trains if n not in self.networks or self.networks[n].optimizer is None]
            if missing:
                raise ValueError(f'update {u.name!r} trains {missing}, which have no network or no optimiser')
            if u.repeat is not None and not 1 <= u.repeat <= self.batch_splits:
                raise ValueError(f'update {u.name!r} repeats {u.repeat} times over {self.batch_splits} '
                                 'sub-batches')
            if u.every < 1:
                raise ValueError(f'update {u.name!r} has every={u.every}; it must be >= 1')


@dataclasses.dataclass(frozen=True)
class Context:
    """What one update's loss sees besides the parameters it is differentiated by.

    ``batch`` is this update's sub-batch (a dict, e.g. ``{'x': images, 'label': labels}``); ``key`` its
    PRNG key; ``step`` the state's step; ``index`` counts this update's runs over the whole training
    (``step * repeat + i`` for repeated updates, ``step`` otherwise). ``collections`` and ``extra`` are
    the state's as they stand before this update (after the earlier repetitions of a repeated one).
    ``optimizers`` and ``opt_states`` let a loss take optimiser steps of its own (unrolled GAN).
    """

    networks: Mapping[str, Network]
    collections: dict[str, PyTree]
    extra: dict[str, PyTree]
    optimizers: Mapping[str, optax.GradientTransformation]
    opt_states: dict[str, PyTree]
    batch: dict[str, jax.Array]
    key: jax.Array
    step: jax.Array
    index: jax.Array
    axis_name: str | None = None

    def apply(self, name: str, params: PyTree, *args, train: bool = True,
              collections: PyTree | None = None, mutable: bool = True) -> tuple[Any, PyTree]:
        """Call network ``name`` -> ``(output, its collections afterwards)``.

        With ``train`` and ``mutable`` its collections (batch statistics, power-iteration vectors) are
        updated and returned; otherwise they are read as they are and returned unchanged. ``collections``
        replaces the context's (to chain two calls within one loss).
        """
        module = self.networks[name].module
        cols = self.collections[name] if collections is None else collections
        variables = {'params': params, **cols}
        if train and mutable and cols:
            out, updated = module.apply(variables, *args, train=True, mutable=list(cols))
            return out, {**cols, **updated}
        return module.apply(variables, *args, train=train), cols

    def draw(self, sampler: Callable[[jax.Array, tuple], jax.Array], key: jax.Array,
             shape: tuple[int, ...]) -> jax.Array:
        """``sampler(key, shape)``; under ``pmap``, this device's slice of the global batch's draw, so that
        devices differ and the run equals a single-device run of the same global batch."""
        if self.axis_name is None:
            return sampler(key, shape)
        n_dev = lax.psum(1, self.axis_name)
        full = sampler(key, (n_dev * shape[0], *shape[1:]))
        return lax.dynamic_slice_in_dim(full, lax.axis_index(self.axis_name) * shape[0], shape[0])

    def uniform(self, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return self.draw(jax.random.uniform, key, shape)

    def normal(self, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
        return self.draw(jax.random.normal, key, shape)

    def mean(self, tree: PyTree) -> PyTree:
        """Average over devices under ``pmap`` (a per-device batch mean becomes the global one); identity
        otherwise, where a batch mean is already global."""
        return lax.pmean(tree, self.axis_name) if self.axis_name else tree


def ema_update(decay: jax.Array | float, average: PyTree, params: PyTree) -> PyTree:
    return jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, average, params)


def interleave(a: jax.Array, b: jax.Array) -> jax.Array:
    """``(a_0, b_0, a_1, b_1, ...)``: one batch of both that stays local to each device when ``a`` and
    ``b`` are sharded on their leading axis (a concatenation would move half of it)."""
    return jnp.stack([a, b], axis=1).reshape(2 * a.shape[0], *a.shape[1:])
