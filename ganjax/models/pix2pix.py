"""Pix2Pix networks (Isola et al. 2017): a U-Net generator and the PatchGAN discriminator.

U-Net. An encoder of 4x4 stride-2 convolutions (C64-C128-C256-C512-C512-..., widths ``width * 2^i`` capped
at ``8 * width``) down to 1x1, and a mirrored decoder of 4x4 stride-2 transposed convolutions whose every
layer also reads the encoder layer of its size (the skips). LeakyReLU(0.2) in the encoder, ReLU in the
decoder, tanh out; instance normalisation (the paper's batch norm at batch size 1 with test-time batch
statistics is exactly this) on every layer but the first, the innermost and the last. The generator's
noise is dropout (rate ``dropout``) on the first three decoder layers, as in the paper: the masks come
from per-example keys the caller passes (``G(a, keys, train)``; the game draws them from the step's key),
so a resumed run draws the same masks. ``keys=None`` runs without dropout (the expectation of the masked
activations: inverted dropout), which is how ganjax translates after training.

PatchGAN. ``patch_layers`` 4x4 stride-2 convolutions (width doubling, capped at 8x), one 4x4 stride-1
convolution, then a 4x4 stride-1 convolution to one logit per patch; padding 1, LeakyReLU(0.2), instance
norm on all but the first and the last. Each logit sees a square of :func:`receptive_field` pixels: 70 for
the paper's ``patch_layers=3``, 34 for 2, 16 for 1. (The normalisation's mean and variance are taken over
the whole image, so strictly every logit depends on every pixel through them; the convolutions' window is
the receptive field, and ``norm='none'`` has exactly that dependence, which tests/test_translation.py
checks.) Pix2Pix conditions it on the input image, concatenated on the channels (``D(x, cond)``).
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.layers import Conv, ConvTranspose

DROPOUT_LAYERS = 3  # decoder layers with dropout, counted from the innermost


def instance_norm(x: jax.Array, eps: float = 1e-5) -> jax.Array:
    """Normalise each example's channels over height and width (no learned scale: CycleGAN's setting)."""
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    var = jnp.mean(jnp.square(x - mean), axis=(1, 2), keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps)


def patch_layers_spec(patch_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of each PatchGAN convolution, input to output."""
    return [(4, 2)] * patch_layers + [(4, 1), (4, 1)]


def receptive_field(layers: list[tuple[int, int]]) -> int:
    """The side of the input square one output of a stack of ``(kernel, stride)`` convolutions sees:
    ``r = 1 + sum_i (k_i - 1) * prod_{j<i} s_j``."""
    r, jump = 1, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r


class UNetGenerator(nn.Module):
    image_shape: tuple[int, int, int]  # the output's
    width: int = 64
    dropout: float = 0.5
    num_classes: int = 0  # translation generators take no labels; kept for the model registry's arguments
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32

    cross_example_state = False  # instance norm: each example alone

    @nn.compact
    def __call__(self, x: jax.Array, keys: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        size, _, channels = self.image_shape
        if x.shape[1] != size or size < 4 or size & (size - 1):
            raise ConfigError(f'the U-Net needs square inputs of a power-of-two size >= 4 equal to the output '
                              f'size {size}, got {x.shape[1:3]}')
        depth = int(math.log2(size))
        widths = [self.width * min(2 ** i, 8) for i in range(depth)]
        conv = lambda f: Conv(f, (4, 4), (2, 2), padding=((1, 1), (1, 1)), impl=self.conv_impl, dtype=self.dtype)
        up = lambda f: ConvTranspose(f, (4, 4), (2, 2), impl=self.conv_impl, dtype=self.dtype)
        h, skips = x.astype(self.dtype), []
        for i, w in enumerate(widths):
            if i:
                h = nn.leaky_relu(h, 0.2)
            h = conv(w)(h)
            if 0 < i < depth - 1:
                h = instance_norm(h)
            skips.append(h)
        skips.pop()  # the innermost is h itself
        for i in range(depth - 1):
            h = up(widths[depth - 2 - i])(nn.relu(h))
            h = instance_norm(h)
            if i < DROPOUT_LAYERS and keys is not None and self.dropout > 0:
                h = self._dropout(h, keys, i)
            h = jnp.concatenate([h, skips.pop()], axis=-1)
        out = up(channels)(nn.relu(h))
        return jnp.tanh(out.astype(jnp.float32))

    def _dropout(self, h: jax.Array, keys: jax.Array, layer: int) -> jax.Array:
        keep = 1.0 - self.dropout
        masks = jax.vmap(lambda k: jax.random.bernoulli(jax.random.fold_in(k, layer), keep, h.shape[1:]))(keys)
        return jnp.where(masks, h / keep, 0).astype(h.dtype)


class PatchGAN(nn.Module):
    image_shape: tuple[int, int, int]
    width: int = 64
    patch_layers: int = 3
    norm: str = 'instance'  # 'instance' | 'none'
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32

    cross_example_state = False

    @property
    def receptive_field(self) -> int:
        """The side of the input square each logit sees (70 for the paper's three stride-2 layers)."""
        return receptive_field(patch_layers_spec(self.patch_layers))

    @nn.compact
    def __call__(self, x: jax.Array, cond: jax.Array | None = None, *, train: bool = True) -> dict[str, jax.Array]:
        if self.norm not in ('instance', 'none'):
            raise ConfigError(f"PatchGAN norm must be 'instance' or 'none', got {self.norm!r}")
        h = x if cond is None else jnp.concatenate([cond.astype(x.dtype), x], axis=-1)
        h = h.astype(self.dtype)
        spec = patch_layers_spec(self.patch_layers)
        for i, (k, s) in enumerate(spec):
            last = i == len(spec) - 1
            f = 1 if last else self.width * min(2 ** i, 8)
            h = Conv(f, (k, k), (s, s), padding=((1, 1), (1, 1)), impl=self.conv_impl, dtype=self.dtype)(h)
            if not last:
                if i and self.norm == 'instance':
                    h = instance_norm(h)
                h = nn.leaky_relu(h, 0.2)
        return {'logits': h.astype(jnp.float32)}
