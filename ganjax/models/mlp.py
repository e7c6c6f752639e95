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
from ganjax.models.stabilisers import MinibatchDiscrimination, VirtualBatchNorm, reference_latents


class MLPGenerator(nn.Module):
    out_dim: int
    width: int = 128
    depth: int = 3
    num_classes: int = 0
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    # > 0: virtual batch norm after each hidden layer, on a fixed reference batch of this many latents
    # (ganjax.models.stabilisers; Salimans et al. 2016). Each example's output still depends on it alone.
    virtual_batch_norm: int = 0
    cross_example_state = False  # each example's output depends on that example alone

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        vbn = self.virtual_batch_norm
        if vbn:
            z, labels = reference_latents(self, z, labels, self.num_classes, vbn)
        h = z
        if self.num_classes:
            h = jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes, dtype=h.dtype)], axis=-1)
        for _ in range(self.depth):  # no bias before VBN: its normalisation removes any constant shift
            h = nn.Dense(self.width, use_bias=not vbn, dtype=self.dtype)(h)
            h = nn.relu(VirtualBatchNorm(vbn, dtype=self.dtype)(h) if vbn else h)
        return nn.Dense(self.out_dim, dtype=self.dtype)(h)[vbn:].astype(jnp.float32)


class MLPDiscriminator(nn.Module):
    width: int = 128
    depth: int = 3
    num_classes: int = 0
    spectral_norm: bool = False
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    minibatch_kernels: int = 0  # minibatch discrimination before the output layer (Salimans et al. 2016)
    minibatch_kernel_dim: int = 5
    minibatch_stddev: int = 0  # group size of a minibatch-stddev feature before the output (Karras et al. 2018)

    @property
    def cross_example_state(self) -> bool:
        """Minibatch discrimination and stddev mix a batch's examples; spectral norm's state is per weight."""
        return bool(self.minibatch_kernels or self.minibatch_stddev)

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        h = x.reshape(x.shape[0], -1)
        if self.num_classes:
            h = jnp.concatenate([h, jax.nn.one_hot(labels, self.num_classes, dtype=h.dtype)], axis=-1)
        layer = lambda n: nn.Dense(n, dtype=self.dtype)
        dense = (lambda n: spectral(layer(n), self, train)) if self.spectral_norm else layer
        for _ in range(self.depth):
            h = nn.leaky_relu(dense(self.width)(h), 0.2)
        features = h  # feature matching's layer (ganjax.stabilisers): D's last hidden layer
        if self.minibatch_stddev:  # the batch's stddev as one more feature, as on a 1x1 map
            from ganjax.models.blocks import minibatch_stddev
            h = minibatch_stddev(h[:, None, None, :], group_size=self.minibatch_stddev)[:, 0, 0, :]
        if self.minibatch_kernels:
            h = MinibatchDiscrimination(self.minibatch_kernels, self.minibatch_kernel_dim, dtype=self.dtype)(h)
        return {'logits': dense(1)(h)[:, 0].astype(jnp.float32), 'features': features.astype(jnp.float32)}
