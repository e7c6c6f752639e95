"""Layers shared by the model families.

``Conv`` and ``ConvTranspose`` own their parameters (``kernel`` of shape ``(kh, kw, in, out)`` and
``bias``) and choose how the convolution is lowered with ``impl``, so that every model gets the fastest
formulation on each backend without its parameters or outputs changing:

* ``'xla'``: ``lax.conv_general_dilated`` (what ``flax.linen.Conv`` does);
* ``'auto'``: the formulation measured fastest on the current backend.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ganjax.errors import ConfigError

CONV_IMPLS = ('auto', 'xla')
Padding = str | Sequence[tuple[int, int]]


def resolve_impl(impl: str) -> str:
    if impl not in CONV_IMPLS:
        raise ConfigError(f"unknown model.conv_impl {impl!r}; valid: {', '.join(CONV_IMPLS)}")
    return 'xla' if impl == 'auto' else impl


def _explicit_padding(padding: Padding, kernel: Sequence[int], strides: Sequence[int], size: Sequence[int]):
    if not isinstance(padding, str):
        return [tuple(p) for p in padding]
    return lax.padtype_to_pads(size, kernel, strides, padding)


class Conv(nn.Module):
    """2-D convolution on NHWC inputs."""

    features: int
    kernel_size: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    padding: Padding = 'SAME'
    use_bias: bool = True
    impl: str = 'auto'
    kernel_init: Any = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param('kernel', self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
        pads = _explicit_padding(self.padding, self.kernel_size, self.strides, x.shape[1:3])
        resolve_impl(self.impl)
        y = lax.conv_general_dilated(x, kernel, self.strides, pads, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
        if self.use_bias:
            y = y + self.param('bias', nn.initializers.zeros, (self.features,))
        return y


class ConvTranspose(nn.Module):
    """Transposed 2-D convolution on NHWC inputs (output size = input size * stride for 'SAME')."""

    features: int
    kernel_size: tuple[int, int] = (4, 4)
    strides: tuple[int, int] = (2, 2)
    padding: str = 'SAME'
    use_bias: bool = True
    impl: str = 'auto'
    kernel_init: Any = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param('kernel', self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
        resolve_impl(self.impl)
        y = lax.conv_transpose(x, kernel, self.strides, self.padding, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
        if self.use_bias:
            y = y + self.param('bias', nn.initializers.zeros, (self.features,))
        return y
