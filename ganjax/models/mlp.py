"""MLP generator and discriminator for low-dimensional (2-D toy) data.

The discriminator can spectrally normalise its layers (Miyato et al. 2018; ``spectral_norm=True``): the
power-iteration vectors live in the ``spectral`` collection and advance once per call made with that
collection mutable in training mode, so a call that only reads it (a gradient penalty) sees the current
vectors and leaves them as they are.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.models.layers import spectral


class MLPGenerator(nn.Module):
    out_dim: int
    width: int = 128
    depth: int = 3
    num_classes: int = 0
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    cross_example_state = False  # each example's output depends on that example alone

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        h = z
        if self.num_classes:
            h = jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes, dtype=h.dtype)], axis=-1)
        for _ in range(self.depth):
            h = nn.relu(nn.Dense(self.width, dtype=self.dtype)(h))
        return nn.Dense(self.out_dim, dtype=self.dtype)(h).astype(jnp.float32)


class MLPDiscriminator(nn.Module):
    width: int = 128
    depth: int = 3
    num_classes: int = 0
    spectral_norm: bool = False
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    cross_example_state = False  # spectral norm's state is per weight, not per batch

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        h = x.reshape(x.shape[0], -1)
        if self.num_classes:
            h = jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes, dtype=h.dtype)], axis=-1)
        layer = lambda n: nn.Dense(n, dtype=self.dtype)
        dense = (lambda n: spectral(layer(n), self, train)) if self.spectral_norm else layer
        for _ in range(self.depth):
            h = nn.leaky_relu(dense(self.width)(h), 0.2)
        return {'logits': dense(1)(h)[:, 0].astype(jnp.float32)}
