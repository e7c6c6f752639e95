"""MLP generator and discriminator for low-dimensional (2-D toy) data."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLPGenerator(nn.Module):
    out_dim: int
    width: int = 128
    depth: int = 3
    num_classes: int = 0
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32

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
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        h = x.reshape(x.shape[0], -1)
        if self.num_classes:
            h = jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes, dtype=h.dtype)], axis=-1)
        for _ in range(self.depth):
            h = nn.leaky_relu(nn.Dense(self.width, dtype=self.dtype)(h), 0.2)
        return nn.Dense(1, dtype=self.dtype)(h)[:, 0].astype(jnp.float32)
