"""Blocks of the image GAN families: self-attention (SAGAN, BigGAN) and conditional batch norm.

``SelfAttention`` (Zhang et al. 2019): for a feature map ``x`` of ``N = H * W`` positions and ``C``
channels, 1x1 convolutions give queries ``f = W_f x`` and keys ``g = W_g x`` (``C / 8`` channels each) and
values ``h = W_h x`` (``C / 2``); each position attends to all with ``beta_ij = softmax_j(f_i . g_j)``, and
``o_i = W_o sum_j beta_ij h_j`` (back to ``C`` channels). The block returns ``x + gamma * o`` with a learned
``gamma`` that starts at 0, so a network first learns local features and lets attention in gradually.
The 1x1 convolutions are spectrally normalised when ``spectral_norm`` (both SAGAN networks do).

``ConditionalBatchNorm`` (de Vries et al. 2017; Miyato & Koyama 2018; BigGAN): batch norm without its own
scale and offset, then a per-example ``(1 + gamma(c)) * x_hat + beta(c)``, where ``gamma`` and ``beta`` are
linear maps of a conditioning vector ``c`` (a class's one-hot, or BigGAN's shared class embedding joined
with a chunk of the latent). The maps start at zero, so the block starts as plain batch norm.

``minibatch_stddev`` (Karras et al. 2018, grouped as in StyleGAN2): a discriminator layer that appends the
spread of features across a small group of examples as extra channels, so D can see a batch that lacks
variety (a collapsed generator) that no single example reveals.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.models.layers import Conv, spectral


class SelfAttention(nn.Module):
    spectral_norm: bool = True
    conv_impl: str = 'auto'
    dtype: Any = jnp.float32  # compute dtype; parameters stay float32

    @nn.compact
    def __call__(self, x: jax.Array, *, train: bool = True) -> jax.Array:
        b, hgt, wid, c = x.shape
        if c < 8:
            raise ValueError(f'self-attention needs at least 8 channels, got {c}')

        def conv(features: int, name: str):
            layer = Conv(features, (1, 1), use_bias=False, impl=self.conv_impl, dtype=self.dtype, name=name)
            return spectral(layer, self, train) if self.spectral_norm else layer

        f = conv(c // 8, 'query')(x).reshape(b, hgt * wid, c // 8)
        g = conv(c // 8, 'key')(x).reshape(b, hgt * wid, c // 8)
        h = conv(c // 2, 'value')(x).reshape(b, hgt * wid, c // 2)
        beta = jax.nn.softmax(jnp.einsum('bic,bjc->bij', f, g), axis=-1)
        o = jnp.einsum('bij,bjc->bic', beta, h).reshape(b, hgt, wid, c // 2)
        o = conv(c, 'out')(o)
        gamma = self.param('gamma', nn.initializers.zeros, ())
        return x + gamma.astype(o.dtype) * o


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and offset are linear in a per-example conditioning vector ``cond``."""

    momentum: float = 0.9
    epsilon: float = 1e-5
    axis_name: str | None = None
    spectral_norm: bool = False
    dtype: Any = jnp.float32  # compute dtype; parameters stay float32

    @nn.compact
    def __call__(self, x: jax.Array, cond: jax.Array, *, train: bool = True) -> jax.Array:
        x_hat = nn.BatchNorm(use_running_average=not train, momentum=self.momentum, epsilon=self.epsilon,
                             use_scale=False, use_bias=False, axis_name=self.axis_name, dtype=self.dtype)(x)
        c = x.shape[-1]

        def linear(name: str):
            layer = nn.Dense(c, use_bias=False, kernel_init=nn.initializers.zeros, dtype=self.dtype, name=name)
            return spectral(layer, self, train) if self.spectral_norm else layer

        shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (c,)
        gamma = linear('gamma')(cond).reshape(shape)
        beta = linear('beta')(cond).reshape(shape)
        return (1.0 + gamma) * x_hat + beta


def minibatch_stddev(x: jax.Array, group_size: int = 4, num_features: int = 1) -> jax.Array:
    """Append ``num_features`` channels of minibatch standard deviation to NHWC ``x``.

    The batch ``N`` is split into groups of ``G = min(group_size, N)`` examples, example ``n`` in group
    ``n mod (N / G)`` (strided, as StyleGAN2 reshapes ``(G, N / G, ...)``); channels are split into
    ``num_features`` slices. For each group and slice: the standard deviation over the group's examples of
    every feature (biased, ``sqrt(var + 1e-8)``), averaged over positions and the slice's channels, is
    one number, broadcast as a constant channel to the group's examples. ``N`` must divide into groups.
    """
    n, h, w, c = x.shape
    g = min(group_size, n)
    if n % g or c % num_features:
        raise ValueError(f'minibatch_stddev: batch {n} not divisible by group {g} or channels {c} '
                         f'by {num_features} features')
    y = x.astype(jnp.float32).reshape(g, n // g, h, w, num_features, c // num_features)
    y = jnp.sqrt(jnp.var(y, axis=0) + 1e-8)  # (N/G, H, W, F, C/F)
    y = jnp.mean(y, axis=(1, 2, 4))  # (N/G, F)
    y = jnp.tile(y, (g, 1))[:, None, None, :]  # example n gets group n mod (N/G)
    return jnp.concatenate([x, jnp.broadcast_to(y, (n, h, w, num_features)).astype(x.dtype)], axis=-1)
