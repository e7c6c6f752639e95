"""StyleGAN (Karras et al. 2019): adaptive instance norm on a learned constant, per-layer noise.

Synthesis: a learned 4x4 constant, then per resolution two layers (the first of each resolution above 4x4
after 2x bilinear upsampling and a 3x3 convolution, the rest a 3x3 convolution; the very first takes the
constant as it is), each followed by per-pixel noise, a bias, leaky ReLU and AdaIN,
``(1 + ys(w)) * instance_norm(x) + yb(w)`` with the style ``(ys, yb)`` an equalised affine map of that
layer's w. One 1x1 toRGB at the output resolution. The mapping network, style mixing and the truncation
trick's tracked ``w_avg`` are :class:`~ganjax.models.style.StyleGenerator`'s, shared with StyleGAN2.

Not implemented: progressive growing (StyleGAN trained with ProGAN's schedule; here the full resolution
trains from the start, as StyleGAN2 does) and the blur after upsampling. The discriminator is ProGAN's at
its last stage (the paper's), with the non-saturating loss and R1 of :mod:`ganjax.games.stylegan2`.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.models.style import EqConv, EqDense, NoiseInput, StyleGenerator, lrelu, resolution_levels, upsample2x


def instance_norm(x: jax.Array, eps: float = 1e-8) -> jax.Array:
    x = x - jnp.mean(x, axis=(1, 2), keepdims=True)
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=(1, 2), keepdims=True) + eps)


class AdaIN(nn.Module):
    """``(1 + ys) * instance_norm(x) + yb`` with ``(ys, yb)`` an equalised affine map of ``w``."""

    @nn.compact
    def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
        c = x.shape[-1]
        style = EqDense(2 * c, name='affine')(w)[:, None, None, :]
        return (1.0 + style[..., :c]) * instance_norm(x) + style[..., c:]


class AdaINSynthesis(nn.Module):
    image_shape: tuple[int, int, int]
    width: int
    impl: str = 'auto'

    @nn.compact
    def __call__(self, ws: jax.Array) -> jax.Array:
        c = self.width
        x = jnp.broadcast_to(self.param('const', nn.initializers.ones, (4, 4, c)), (ws.shape[0], 4, 4, c))
        index = 0
        for level in range(resolution_levels(self.image_shape) + 1):
            for j in range(2):
                if level and j == 0:
                    x = upsample2x(x)
                if level or j:
                    x = EqConv(c, 3, use_bias=False, impl=self.impl, name=f'conv{level}_{j}')(x)
                x = NoiseInput(name=f'noise{level}_{j}')(x)
                x = lrelu(x + self.param(f'bias{level}_{j}', nn.initializers.zeros, (c,)))
                x = AdaIN(name=f'adain{level}_{j}')(x, ws[:, index])
                index += 1
        return EqConv(self.image_shape[-1], 1, impl=self.impl, name='to_rgb')(x)


class StyleGANGenerator(StyleGenerator):
    """``G(z, cond, train)`` -> images through the AdaIN synthesis network."""

    def make_synthesis(self) -> nn.Module:
        return AdaINSynthesis(self.image_shape, self.width, self.impl)
