"""BigGAN's generator (Brock et al. 2019) at small scale, for class-conditional 2^k x 2^k images.

What makes it BigGAN rather than the ResNet generator it is built from (:mod:`ganjax.models.resnet`):

* hierarchical latents: ``z`` is cut into one chunk for the first dense layer and one per up-sampling
  block, so noise enters at every resolution;
* a shared class embedding: one ``nn.Embed`` whose vector, joined with a block's latent chunk, drives
  that block's conditional batch norms (instead of a separate embedding per layer);
* spectral norm in G as well as D; self-attention at ``attention`` (0 = none);
* at sampling time the truncation trick and an EMA of G (the train loop keeps the EMA; ganjax.sample
  truncates), and orthogonal regularisation of G's weights in training
  (``penalty.g_orthogonal``, :func:`ganjax.penalties.orthogonal`).

Its discriminator is the spectrally normalised ResNet discriminator with a projection head.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.blocks import SelfAttention
from ganjax.models.layers import Conv, spectral
from ganjax.models.resnet import _UpBlock, start_size


class BigGANGenerator(nn.Module):
    image_shape: tuple[int, int, int] = (32, 32, 3)
    width: int = 128
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    shared_dim: int = 128
    attention: int = 0
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    cross_example_state = True  # batch norm

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        size = self.image_shape[0]
        start = start_size(size, 'BigGAN')
        blocks = (size // start).bit_length() - 1  # start -> size in doublings
        if z.shape[-1] % (blocks + 1):
            raise ConfigError(f'BigGAN cuts model.latent_dim into {blocks + 1} equal chunks (one for the input '
                              f'layer, one per block); {z.shape[-1]} does not divide')
        sn = lambda layer: spectral(layer, self, train)
        chunks = jnp.split(z, blocks + 1, axis=-1)
        shared = nn.Embed(self.num_classes, self.shared_dim)(labels) if self.num_classes else None
        h = sn(nn.Dense(start * start * self.width, dtype=self.dtype))(chunks[0]).reshape(-1, start, start, self.width)
        for chunk in chunks[1:]:
            cond = chunk if shared is None else jnp.concatenate([shared, chunk], axis=-1)
            h = _UpBlock(self.width, self.conv_impl, self.bn_axis_name, True, True, self.dtype)(h, cond, train)
            if h.shape[1] == self.attention:
                h = SelfAttention(True, self.conv_impl, self.dtype)(h, train=train)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, axis_name=self.bn_axis_name,
                                 dtype=self.dtype)(h))
        h = sn(Conv(self.image_shape[2], (3, 3), impl=self.conv_impl, dtype=self.dtype))(h)
        return jnp.tanh(h).astype(jnp.float32)
