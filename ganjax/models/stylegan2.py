"""StyleGAN2 (Karras et al. 2020): skip generator of modulated convolutions, residual discriminator.

Generator: a :class:`~ganjax.models.style.StyleMapping` to ``ws`` (``2 log2(R) - 2`` of them), a learned
4x4 constant, then per resolution from 4x4 to ``R``: (2x bilinear upsampling and) two 3x3 modulated,
demodulated convolutions, each followed by noise, a bias and a leaky ReLU; a 1x1 modulated (not
demodulated) "toRGB" at every resolution whose output is added to the upsampled image so far (the skip
architecture). Layer ``2l - 1``, ``2l`` are the convolutions of level ``l`` (level 0 = 4x4 has only the
second), ``2l + 1`` its toRGB, as in the reference implementation. ``model.width`` channels at every
resolution (the StyleGAN2-ADA CIFAR-10 configuration: 512 everywhere).

Discriminator: 1x1 fromRGB at ``R``, then per resolution down to 8x8 a residual block (two 3x3
convolutions then 2x downsampling, plus a downsampled 1x1 skip, summed and scaled by ``1/sqrt(2)``),
then at 4x4 minibatch standard deviation, a 3x3 convolution and two dense layers to one logit.

Left out of the reference (simplifications): the FIR [1, 3, 3, 1] filtering around strided
(transposed) convolutions is replaced by bilinear upsampling / 2x2 average pooling around stride-1
convolutions; activations are not clamped; no conditioning.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.models.blocks import minibatch_stddev
from ganjax.models.style import (EqConv, EqDense, NoiseInput, StyleGenerator, downsample2x, he_scale, lrelu,
                                 modulated_conv, resolution_levels, upsample2x)


class ModulatedConv(nn.Module):
    """A style-modulated ``kernel_size`` convolution from ``w``: affine styles (bias 1), then
    :func:`~ganjax.models.style.modulated_conv`; a "toRGB" layer (``demodulate=False``) scales its styles
    by ``1/sqrt(fan_in)`` as the reference does."""

    features: int
    kernel_size: int = 3
    demodulate: bool = True
    form: str = 'auto'
    impl: str = 'auto'

    @nn.compact
    def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
        k, cin = self.kernel_size, x.shape[-1]
        styles = EqDense(cin, bias_init=1.0, name='affine')(w)
        weight = self.param('kernel', nn.initializers.normal(1.0), (k, k, cin, self.features))
        if self.demodulate:
            weight = weight * he_scale(k * k * cin)  # cancelled by demodulation; kept for the eps's scale
        else:
            styles = styles * he_scale(k * k * cin)
        return modulated_conv(x, weight, styles, demodulate=self.demodulate, form=self.form, impl=self.impl)


class StyleLayer(nn.Module):
    """Modulated conv -> noise -> bias -> leaky ReLU (x sqrt 2), optionally after 2x upsampling."""

    features: int
    up: bool = False
    form: str = 'auto'
    impl: str = 'auto'

    @nn.compact
    def __call__(self, x: jax.Array, w: jax.Array) -> jax.Array:
        if self.up:
            x = upsample2x(x)
        x = ModulatedConv(self.features, 3, form=self.form, impl=self.impl, name='conv')(x, w)
        x = NoiseInput(name='noise')(x)
        return lrelu(x + self.param('bias', nn.initializers.zeros, (self.features,)))


class SkipSynthesis(nn.Module):
    """``ws -> images``: the skip generator's synthesis network."""

    image_shape: tuple[int, int, int]
    width: int
    form: str = 'auto'
    impl: str = 'auto'

    @property
    def num_ws(self) -> int:
        return 2 * resolution_levels(self.image_shape) + 2

    @nn.compact
    def __call__(self, ws: jax.Array) -> jax.Array:
        c, out = self.width, self.image_shape[-1]
        const = self.param('const', nn.initializers.normal(1.0), (4, 4, c))
        x = jnp.broadcast_to(const, (ws.shape[0], 4, 4, c))
        to_rgb = lambda level, h, w: (ModulatedConv(out, 1, demodulate=False, form=self.form, impl=self.impl,
                                                    name=f'to_rgb{level}')(h, w)
                                      + self.param(f'rgb_bias{level}', nn.initializers.zeros, (out,)))
        x = StyleLayer(c, form=self.form, impl=self.impl, name='conv0_1')(x, ws[:, 0])
        img = to_rgb(0, x, ws[:, 1])
        for level in range(1, resolution_levels(self.image_shape) + 1):
            x = StyleLayer(c, up=True, form=self.form, impl=self.impl, name=f'conv{level}_0')(x, ws[:, 2 * level - 1])
            x = StyleLayer(c, form=self.form, impl=self.impl, name=f'conv{level}_1')(x, ws[:, 2 * level])
            img = upsample2x(img) + to_rgb(level, x, ws[:, 2 * level + 1])
        return img


class StyleGAN2Generator(StyleGenerator):
    """``G(z, cond, train)`` -> images through the skip synthesis network (see :class:`StyleGenerator`)."""

    def make_synthesis(self) -> nn.Module:
        return SkipSynthesis(self.image_shape, self.width, self.form, self.impl)


class StyleGAN2Discriminator(nn.Module):
    """``D(x, cond, train)`` -> ``{'logits': (n,)}``: the residual discriminator."""

    image_shape: tuple[int, int, int]
    width: int = 64
    mbstd_group: int = 4
    impl: str = 'auto'
    cross_example_state = True  # minibatch standard deviation mixes the examples of a group

    @nn.compact
    def __call__(self, x: jax.Array, cond=None, *, train: bool = True) -> dict[str, jax.Array]:
        if cond is not None:
            raise ValueError('the StyleGAN2 discriminator takes no conditioning')
        c = self.width
        h = lrelu(EqConv(c, 1, impl=self.impl, name='from_rgb')(x))
        for level in range(resolution_levels(self.image_shape), 0, -1):
            skip = EqConv(c, 1, use_bias=False, impl=self.impl, name=f'skip{level}')(downsample2x(h))
            h = lrelu(EqConv(c, 3, impl=self.impl, name=f'conv{level}_0')(h))
            h = downsample2x(lrelu(EqConv(c, 3, impl=self.impl, name=f'conv{level}_1')(h)))
            h = (h + skip) * math.sqrt(0.5)
        h = minibatch_stddev(h, self.mbstd_group, 1)
        h = lrelu(EqConv(c, 3, impl=self.impl, name='conv_out')(h))
        h = lrelu(EqDense(c, name='fc')(h.reshape(h.shape[0], -1)))
        return {'logits': EqDense(1, name='out')(h)[:, 0]}
