"""DCGAN (Radford et al. 2016) generator and discriminator, and the small DCGAN of the WGAN-GP code.

``DCGANGenerator``/``DCGANDiscriminator`` cover 28x28 (MNIST: 7 -> 14 -> 28) and every power-of-two size
from 32 up (4 -> 8 -> ... -> size), with 4x4 stride-2 (transposed) convolutions, batch norm in G (and
optionally D) and LeakyReLU(0.2) in D. The options of the image families apply to them too, at DCGAN's
cost (which is what a 2-core CPU can train in minutes): spectral norm in D (SN-DCGAN, Miyato et al. 2018),
self-attention on the feature maps of one resolution in G and D (``attention``; SAGAN), class conditioning
(one-hot joined to ``z`` in G; a projection term or, with ``aux_classifier``, AC-GAN's ``cls`` head in D).
D also returns its flattened body as ``features``.

``GPDCGANGenerator``/``GPDCGANDiscriminator`` are the 32x32 model of the widely used PyTorch port of the
WGAN-GP paper's CIFAR-10 code (kernel-2 stride-2 transposed convs in G, kernel-3 stride-2 convs in D, no
normalisation in D); the speed benchmark uses it.
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.blocks import SelfAttention, minibatch_stddev
from ganjax.models.layers import Conv, ConvTranspose, spectral
from ganjax.models.stabilisers import MinibatchDiscrimination, VirtualBatchNorm, reference_latents


def _plan(size: int) -> tuple[int, int]:
    """(start size, number of stride-2 stages) for an image side ``size``."""
    if size == 28:
        return 7, 2
    if size >= 32 and size & (size - 1) == 0:
        return 4, int(math.log2(size)) - 2
    raise ConfigError(f'DCGAN supports image sizes 28 and powers of two >= 32, got {size}')


def _batch_norm(train: bool, axis_name: str | None, dtype: Any) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, axis_name=axis_name,
                        dtype=dtype)


class DCGANGenerator(nn.Module):
    image_shape: tuple[int, int, int]
    width: int = 64
    batch_norm: bool = True
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    attention: int = 0  # self-attention after the layer that reaches this resolution (0 = none)
    spectral_norm: bool = False  # SAGAN: spectral norm in G too
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    # > 0: virtual batch norm on a fixed reference batch of this many latents instead of batch norm
    # (ganjax.models.stabilisers; Salimans et al. 2016)
    virtual_batch_norm: int = 0
    dense: int = 0  # > 0: a hidden dense layer of this many units before the first feature map (InfoGAN)

    @property
    def cross_example_state(self) -> bool:
        return self.batch_norm and not self.virtual_batch_norm

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        size, _, channels = self.image_shape
        start, stages = _plan(size)
        vbn = self.virtual_batch_norm
        if vbn:
            z, labels = reference_latents(self, z, labels, self.num_classes, vbn)
        norm = self.batch_norm or vbn
        if self.num_classes:
            z = jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], axis=-1)
        sn = (lambda layer: spectral(layer, self, train)) if self.spectral_norm else (lambda layer: layer)
        ch = self.width * 2 ** (stages - 1)
        h = z
        if self.dense:
            h = nn.relu(self._norm(sn(nn.Dense(self.dense, use_bias=not norm, dtype=self.dtype))(h), train))
        h = sn(nn.Dense(start * start * ch, use_bias=not norm, dtype=self.dtype))(h)
        h = h.reshape(-1, start, start, ch)
        for i in range(stages):
            h = nn.relu(self._norm(h, train))
            last = i == stages - 1
            ch = channels if last else ch // 2
            h = sn(ConvTranspose(ch, (4, 4), (2, 2), use_bias=last or not norm, impl=self.conv_impl,
                                 dtype=self.dtype))(h)
            if not last and h.shape[1] == self.attention:
                h = SelfAttention(self.spectral_norm, self.conv_impl, self.dtype)(h, train=train)
        return jnp.tanh(h[vbn:]).astype(jnp.float32)

    def _norm(self, h: jax.Array, train: bool) -> jax.Array:
        if self.virtual_batch_norm:
            return VirtualBatchNorm(self.virtual_batch_norm, dtype=self.dtype)(h)
        if self.batch_norm:
            return _batch_norm(train, self.bn_axis_name, self.dtype)(h)
        return h


class DCGANDiscriminator(nn.Module):
    image_shape: tuple[int, int, int]
    width: int = 64
    batch_norm: bool = False
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    spectral_norm: bool = False
    attention: int = 0  # self-attention after the layer that reaches this resolution (0 = none)
    aux_classifier: bool = False  # with classes: AC-GAN's 'cls' head instead of the projection term
    q_dim: int = 0  # InfoGAN: a 'q' head of this many outputs on D's body (ganjax.games.infogan)
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    minibatch_kernels: int = 0  # minibatch discrimination on the flattened features (Salimans et al. 2016)
    minibatch_kernel_dim: int = 5
    minibatch_stddev: int = 0  # group size of a minibatch-stddev map on the last stage (Karras et al. 2018)
    dense: int = 0  # > 0: a hidden dense layer of this many units after the conv body (InfoGAN)

    @property
    def cross_example_state(self) -> bool:
        """Batch norm, minibatch discrimination and minibatch stddev mix the examples of a batch; spectral
        norm's state is per weight, not per batch."""
        return bool(self.batch_norm or self.minibatch_kernels or self.minibatch_stddev)

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        _, stages = _plan(self.image_shape[0])
        sn = (lambda layer: spectral(layer, self, train)) if self.spectral_norm else (lambda layer: layer)
        h = x
        for i in range(stages):
            h = sn(Conv(self.width * 2**i, (4, 4), (2, 2), padding=((1, 1), (1, 1)), impl=self.conv_impl,
                        dtype=self.dtype))(h)
            if self.batch_norm and i > 0:
                h = _batch_norm(train, self.bn_axis_name, self.dtype)(h)
            h = nn.leaky_relu(h, 0.2)
            if h.shape[1] == self.attention:
                h = SelfAttention(self.spectral_norm, self.conv_impl, self.dtype)(h, train=train)
        if self.minibatch_stddev:
            h = minibatch_stddev(h, group_size=self.minibatch_stddev)
        h = h.reshape(h.shape[0], -1)
        if self.dense:
            h = self._hidden(sn(nn.Dense(self.dense, dtype=self.dtype)), h, train)
        features = h  # feature matching's layer (ganjax.stabilisers): D's last hidden layer
        if self.minibatch_kernels:
            h = MinibatchDiscrimination(self.minibatch_kernels, self.minibatch_kernel_dim, dtype=self.dtype)(h)
        out = {'logits': sn(nn.Dense(1, dtype=self.dtype))(h)[:, 0], 'features': features}
        if self.num_classes and self.aux_classifier:
            out['cls'] = sn(nn.Dense(self.num_classes, dtype=self.dtype))(h)
        elif self.num_classes:  # projection discriminator (Miyato & Koyama 2018)
            embed = nn.Embed(self.num_classes, h.shape[-1], dtype=self.dtype)(labels)
            out['logits'] = out['logits'] + jnp.sum(embed * h, axis=-1)
        if self.q_dim:  # shares every layer but the last with D, as in InfoGAN
            q = self._hidden(nn.Dense(128, dtype=self.dtype, name='q_hidden'), h, train)
            out['q'] = nn.Dense(self.q_dim, dtype=self.dtype, name='q_out')(q)
        return jax.tree.map(lambda a: a.astype(jnp.float32), out)

    def _hidden(self, dense: nn.Module, h: jax.Array, train: bool) -> jax.Array:
        """A dense layer of D's head, batch-normalised where D is, then LeakyReLU(0.2)."""
        h = dense(h)
        if self.batch_norm:
            h = _batch_norm(train, self.bn_axis_name, self.dtype)(h)
        return nn.leaky_relu(h, 0.2)


class GPDCGANGenerator(nn.Module):
    """G of the PyTorch WGAN-GP CIFAR port: Linear -> 4x4x4D, then three k2 s2 transposed convs."""

    image_shape: tuple[int, int, int] = (32, 32, 3)
    width: int = 64
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    cross_example_state = True  # batch norm

    @nn.compact
    def __call__(self, z: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        if self.image_shape[:2] != (32, 32):
            raise ConfigError(f'model wgan_gp_dcgan is for 32x32 images, got {self.image_shape}')
        d = self.width
        if self.num_classes:
            z = jnp.concatenate([z, jax.nn.one_hot(labels, self.num_classes, dtype=z.dtype)], axis=-1)
        h = nn.Dense(4 * 4 * 4 * d, dtype=self.dtype)(z)
        h = nn.relu(_batch_norm(train, self.bn_axis_name, self.dtype)(h)).reshape(-1, 4, 4, 4 * d)
        for ch in (2 * d, d):
            h = ConvTranspose(ch, (2, 2), (2, 2), padding='VALID', impl=self.conv_impl, dtype=self.dtype)(h)
            h = nn.relu(_batch_norm(train, self.bn_axis_name, self.dtype)(h))
        h = ConvTranspose(self.image_shape[2], (2, 2), (2, 2), padding='VALID', impl=self.conv_impl,
                          dtype=self.dtype)(h)
        return jnp.tanh(h).astype(jnp.float32)


class GPDCGANDiscriminator(nn.Module):
    """D of the PyTorch WGAN-GP CIFAR port: three k3 s2 p1 convs with LeakyReLU(0.01), then Linear."""

    image_shape: tuple[int, int, int] = (32, 32, 3)
    width: int = 64
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32  # compute dtype; parameters and the output are float32
    cross_example_state = False

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> jax.Array:
        d = self.width
        h = x
        for ch in (d, 2 * d, 4 * d):
            h = Conv(ch, (3, 3), (2, 2), padding=((1, 1), (1, 1)), impl=self.conv_impl, dtype=self.dtype)(h)
            h = nn.leaky_relu(h, 0.01)
        h = h.reshape(h.shape[0], -1)
        out = nn.Dense(1, dtype=self.dtype)(h)[:, 0]
        if self.num_classes:
            out = out + jnp.sum(nn.Embed(self.num_classes, h.shape[-1], dtype=self.dtype)(labels) * h, axis=-1)
        return {'logits': out.astype(jnp.float32)}
