"""ResNet generator and discriminator of the WGAN-GP paper's CIFAR-10 model (Gulrajani et al. 2017), and
the SNGAN/SAGAN/conditional variants of the same shape: three up-sampling residual blocks in G; an
optimised first block, one more down-sampling block and two plain blocks in D, global mean pooling,
no normalisation in D.

Options, each off by default (which is the WGAN-GP model exactly):

* ``spectral_norm`` (D: SNGAN, Miyato et al. 2018; G too: SAGAN, Zhang et al. 2019) wraps every
  convolution and dense layer (see :func:`ganjax.models.layers.spectral`);
* ``attention``: a self-attention block (:class:`~ganjax.models.blocks.SelfAttention`) on the feature
  map of that resolution, in G after the up-sampling block that reaches it and in D after the block
  that produces it (SAGAN puts it at 32x32 of 128, i.e. mid-network; here 16 suits 32x32 images);
* conditioning, with ``num_classes``: G either concatenates the one-hot class to ``z`` (``'concat'``) or
  feeds it to conditional batch norm in every block (``'cbn'``, Miyato & Koyama 2018); D adds the
  projection term ``<embed(y), phi(x)>`` to its output (the projection discriminator) and, with
  ``aux_classifier``, returns a ``cls`` head of class logits (AC-GAN, Odena et al. 2017).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.blocks import ConditionalBatchNorm, SelfAttention
from ganjax.models.layers import Conv, spectral

CONDITIONING = ('concat', 'cbn')


def start_size(size: int, what: str) -> int:
    """The side the generators start from and double: 7 for 28x28 (MNIST-sized data without padding),
    else 4, which needs a power-of-two image side >= 8."""
    if size == 28:
        return 7
    if size < 8 or size & (size - 1):
        raise ConfigError(f'{what} needs an image size of 28 or a power of two >= 8, got {size}')
    return 4


def _wrapper(parent: nn.Module, enabled: bool, train: bool):
    return (lambda layer: spectral(layer, parent, train)) if enabled else (lambda layer: layer)


def _upsample(x: jax.Array) -> jax.Array:
    return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _avgpool(x: jax.Array) -> jax.Array:
    b, h, w, c = x.shape
    return x.reshape(b, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


class _UpBlock(nn.Module):
    features: int
    conv_impl: str
    bn_axis_name: str | None
    spectral_norm: bool = False
    conditional: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, cond, train):
        sn = _wrapper(self, self.spectral_norm, train)
        if self.conditional:
            bn = lambda: lambda h: ConditionalBatchNorm(axis_name=self.bn_axis_name, dtype=self.dtype)(
                h, cond, train=train)
        else:
            bn = lambda: nn.BatchNorm(use_running_average=not train, momentum=0.9, axis_name=self.bn_axis_name,
                                      dtype=self.dtype)
        conv = lambda k: sn(Conv(self.features, (k, k), impl=self.conv_impl, dtype=self.dtype))
        h = _upsample(nn.relu(bn()(x)))
        h = conv(3)(h)
        h = conv(3)(nn.relu(bn()(h)))
        return h + conv(1)(_upsample(x))


class _DownBlock(nn.Module):
    features: int
    downsample: bool
    first: bool
    conv_impl: str
    spectral_norm: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train):
        sn = _wrapper(self, self.spectral_norm, train)
        conv = lambda k: sn(Conv(self.features, (k, k), impl=self.conv_impl, dtype=self.dtype))
        h = x if self.first else nn.relu(x)
        h = conv(3)(h)
        h = conv(3)(nn.relu(h))
        if self.downsample:
            h = _avgpool(h)
        if self.first:  # optimised block: pool, then 1x1 conv
            shortcut = conv(1)(_avgpool(x))
        elif self.downsample or x.shape[-1] != self.features:
            shortcut = conv(1)(x)
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
    spectral_norm: bool = False
    attention: int = 0
    conditioning: str = 'concat'
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    cross_example_state = True  # batch norm

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        size = self.image_shape[0]
        start = start_size(size, 'the ResNet GAN')
        if self.conditioning not in CONDITIONING:
            raise ConfigError(f"unknown model.g_conditioning {self.conditioning!r}; valid: {', '.join(CONDITIONING)}")
        sn = _wrapper(self, self.spectral_norm, train)
        cbn = bool(self.num_classes) and self.conditioning == 'cbn'
        cond = jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype) if self.num_classes else None
        if self.num_classes and not cbn:
            z = jnp.concatenate([z, cond], axis=-1)
        h = sn(nn.Dense(start * start * self.width, dtype=self.dtype))(z).reshape(-1, start, start, self.width)
        while h.shape[1] < size:
            h = _UpBlock(self.width, self.conv_impl, self.bn_axis_name, self.spectral_norm, cbn,
                         self.dtype)(h, cond, train)
            if h.shape[1] == self.attention:
                h = SelfAttention(self.spectral_norm, self.conv_impl, self.dtype)(h, train=train)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, axis_name=self.bn_axis_name,
                                 dtype=self.dtype)(h))
        h = sn(Conv(self.image_shape[2], (3, 3), impl=self.conv_impl, dtype=self.dtype))(h)
        return jnp.tanh(h).astype(jnp.float32)


class ResNetDiscriminator(nn.Module):
    image_shape: tuple[int, int, int] = (32, 32, 3)
    width: int = 128
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    spectral_norm: bool = False
    attention: int = 0
    aux_classifier: bool = False
    dtype: Any = jnp.float32  # compute dtype; parameters and the outputs are float32
    cross_example_state = False

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> dict:
        sn = _wrapper(self, self.spectral_norm, train)
        h, attended = x, False
        for downsample, first in ((True, True), (True, False), (False, False), (False, False)):
            h = _DownBlock(self.width, downsample, first, self.conv_impl, self.spectral_norm, self.dtype)(h, train)
            if h.shape[1] == self.attention and not attended:
                h, attended = SelfAttention(self.spectral_norm, self.conv_impl, self.dtype)(h, train=train), True
        h = jnp.mean(nn.relu(h), axis=(1, 2))
        out = {'logits': sn(nn.Dense(1, dtype=self.dtype))(h)[:, 0], 'features': h}
        if self.num_classes and self.aux_classifier:
            out['cls'] = sn(nn.Dense(self.num_classes, dtype=self.dtype))(h)
        elif self.num_classes:  # projection discriminator (Miyato & Koyama 2018)
            embed = nn.Embed(self.num_classes, h.shape[-1], dtype=self.dtype)(labels)
            out['logits'] = out['logits'] + jnp.sum(embed * h, axis=-1)
        return jax.tree.map(lambda a: a.astype(jnp.float32), out)
