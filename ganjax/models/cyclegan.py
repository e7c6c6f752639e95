"""CycleGAN's generator (Zhu et al. 2017, after Johnson et al. 2016): c7s1-64, d128, d256, ``blocks`` x R256,
u128, u64, c7s1-C.

``c7s1-k``: reflection padding 3, a 7x7 convolution, instance norm, ReLU (tanh and no norm on the output).
``dk``: a 3x3 stride-2 convolution. ``Rk``: a residual block of two reflection-padded 3x3 convolutions.
``uk``: a 3x3 stride-2 transposed convolution. Widths are ``width`` (64 in the paper) times 1, 2, 4; 9
blocks at 256x256, 6 at 128x128. The discriminator is Pix2Pix's PatchGAN, unconditional
(:mod:`ganjax.models.pix2pix`).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.layers import Conv, ConvTranspose
from ganjax.models.pix2pix import instance_norm


def reflect(x: jax.Array, p: int) -> jax.Array:
    return jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode='reflect')


class ResNetTranslator(nn.Module):
    image_shape: tuple[int, int, int]  # the output's
    width: int = 64
    blocks: int = 9
    num_classes: int = 0  # no labels; kept for the model registry's arguments
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32

    cross_example_state = False

    @nn.compact
    def __call__(self, x: jax.Array, cond: Any = None, *, train: bool = True) -> jax.Array:
        size, _, channels = self.image_shape
        if x.shape[1] != size or size % 4:
            raise ConfigError(f'the ResNet translator needs inputs of the output size {size} (a multiple of 4), '
                              f'got {x.shape[1:3]}')
        conv = lambda f, k, s=1, pad='VALID': Conv(f, (k, k), (s, s), padding=pad, impl=self.conv_impl,
                                                   dtype=self.dtype)
        w = self.width
        h = nn.relu(instance_norm(conv(w, 7)(reflect(x.astype(self.dtype), 3))))
        for f in (2 * w, 4 * w):
            h = nn.relu(instance_norm(conv(f, 3, 2, ((1, 1), (1, 1)))(h)))
        for _ in range(self.blocks):
            r = nn.relu(instance_norm(conv(4 * w, 3)(reflect(h, 1))))
            h = h + instance_norm(conv(4 * w, 3)(reflect(r, 1)))
        for f in (2 * w, w):
            h = nn.relu(instance_norm(ConvTranspose(f, (3, 3), (2, 2), impl=self.conv_impl, dtype=self.dtype)(h)))
        return jnp.tanh(conv(channels, 7)(reflect(h, 3)).astype(jnp.float32))
