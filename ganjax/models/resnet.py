"""ResNet generator and critic of the WGAN-GP paper's CIFAR-10 model (Gulrajani et al. 2017), also the
SNGAN CIFAR baseline shape: three up-sampling residual blocks in G; an optimised first block, one more
down-sampling block and two plain blocks in D, global mean pooling, no normalisation in D."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.layers import Conv


def _upsample(x: jax.Array) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _avgpool(x: jax.Array) -> jax.Array:
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


class _UpBlock(nn.Module):
    features: int
    conv_impl: str
    bn_axis_name: str | None
    dtype: Any

    @nn.compact
    def __call__(self, x, train):
        bn = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9, axis_name=self.bn_axis_name,
                                  dtype=self.dtype)
        h = _upsample(nn.relu(bn()(x)))
        h = Conv(self.features, (3, 3), impl=self.conv_impl, dtype=self.dtype)(h)
        h = Conv(self.features, (3, 3), impl=self.conv_impl, dtype=self.dtype)(nn.relu(bn()(h)))
        return h + Conv(self.features, (1, 1), impl=self.conv_impl, dtype=self.dtype)(_upsample(x))


class _DownBlock(nn.Module):
    features: int
    downsample: bool
    first: bool
    conv_impl: str
    dtype: Any

    @nn.compact
    def __call__(self, x):
        h = x if self.first else nn.relu(x)
        h = Conv(self.features, (3, 3), impl=self.conv_impl, dtype=self.dtype)(h)
        h = Conv(self.features, (3, 3), impl=self.conv_impl, dtype=self.dtype)(nn.relu(h))
        if self.downsample:
            h = _avgpool(h)
        if self.first:  # optimised block: pool, then 1x1 conv
            shortcut = Conv(self.features, (1, 1), impl=self.conv_impl, dtype=self.dtype)(_avgpool(x))
        elif self.downsample or x.shape[-1] != self.features:
            shortcut = Conv(self.features, (1, 1), impl=self.conv_impl, dtype=self.dtype)(x)
            shortcut = _avgpool(shortcut) if self.downsample else shortcut
        else:
            shortcut = x
        return h + shortcut


class ResNetGenerator(nn.Module):
    image_shape: tuple[int, int, int] = (32, 32, 3)
    width: int = 128
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        size = self.image_shape[0]
        if size < 8 or size & (size - 1):
            raise ConfigError(f'the ResNet GAN needs a power-of-two image size >= 8, got {size}')
        if self.num_classes:
            z = jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], axis=-1)
        h = nn.Dense(4 * 4 * self.width, dtype=self.dtype)(z).reshape(-1, 4, 4, self.width)
        while h.shape[1] < size:
            h = _UpBlock(self.width, self.conv_impl, self.bn_axis_name, self.dtype)(h, train)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, axis_name=self.bn_axis_name,
                                 dtype=self.dtype)(h))
        h = Conv(self.image_shape[2], (3, 3), impl=self.conv_impl, dtype=self.dtype)(h)
        return jnp.tanh(h).astype(jnp.float32)


class ResNetDiscriminator(nn.Module):
    image_shape: tuple[int, int, int] = (32, 32, 3)
    width: int = 128
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        h = _DownBlock(self.width, True, True, self.conv_impl, self.dtype)(x)
        h = _DownBlock(self.width, True, False, self.conv_impl, self.dtype)(h)
        h = _DownBlock(self.width, False, False, self.conv_impl, self.dtype)(h)
        h = _DownBlock(self.width, False, False, self.conv_impl, self.dtype)(h)
        h = jnp.mean(nn.relu(h), axis=(1, 2))
        out = nn.Dense(1, dtype=self.dtype)(h)[:, 0]
        if self.num_classes:
            out = out + jnp.sum(nn.Embed(self.num_classes, h.shape[-1], dtype=self.dtype)(labels) * h, axis=-1)
        return out.astype(jnp.float32)
