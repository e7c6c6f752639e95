"""Layers shared by the model families.

``Conv`` and ``ConvTranspose`` own their parameters (``kernel`` of shape ``(kh, kw, in, out)`` and
``bias``) and choose how the convolution is lowered with ``impl``, so that every model gets the fastest
formulation on each backend without its parameters or outputs changing:

* ``'xla'``: ``lax.conv_general_dilated`` / ``lax.conv_transpose`` (what ``flax.linen.Conv`` does);
* ``'slices'``: a convolution is ``kh * kw`` shifted strided slices of the padded input, concatenated
  along channels and multiplied by the reshaped kernel in one matmul; a transposed convolution is one
  matmul of the input with all taps of the kernel, whose per-tap results are interleaved (depth-to-space
  when the taps tile the output, as for kernel == stride) or zero-interleaved and summed (``lax.pad`` with
  interior padding, the exact transpose of a strided slice) otherwise;
* ``'patches'``: ``lax.conv_general_dilated_patches`` followed by one matmul;
* ``'auto'``: the formulation measured fastest on the current backend (:data:`AUTO_IMPL`).

Why: on XLA's CPU backend the gradients of strided convolutions, and above all the second derivatives a
gradient penalty needs, run through slow generic convolution kernels, while slices, pads, reshapes and
matmuls lower to fused loops and the fast matmul library. On the WGAN-GP DCGAN iteration
(benchmarks/speed.py) 'slices' is several times faster than 'xla' (benchmarks/RESULTS_speed.md). On
GPUs/TPUs the vendor convolution kernels are the fast path, so 'auto' keeps 'xla' there.

All formulations compute the same sums of products (tests/test_layers.py checks outputs, parameter
gradients and the double backward of a gradient penalty against ``lax``), so parameters and checkpoints
are interchangeable between them.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ganjax.errors import ConfigError

CONV_IMPLS = ('auto', 'xla', 'slices', 'patches')
# Measured fastest per backend (benchmarks/speed.py, benchmarks/RESULTS_speed.md); backends not listed
# use 'xla'.
AUTO_IMPL = {'cpu': 'slices'}
Padding = str | Sequence[tuple[int, int]]
_DN = ('NHWC', 'HWIO', 'NHWC')


def resolve_impl(impl: str, backend: str | None = None) -> str:
    """The concrete formulation for ``impl`` (``'auto'`` resolves per ``backend``, default: JAX's)."""
    if impl not in CONV_IMPLS:
        raise ConfigError(f"unknown model.conv_impl {impl!r}; valid: {', '.join(CONV_IMPLS)}")
    if impl != 'auto':
        return impl
    return AUTO_IMPL.get(backend or jax.default_backend(), 'xla')


def resolve_critic_loop(name: str, conv_impl: str = 'auto') -> str:
    """``train.critic_loop``: ``'auto'`` scans repeated updates, except on CPU with XLA's own convolutions,
    whose scan bodies run several times slower there than the unrolled loop (benchmarks/critic_loop.py)."""
    if name == 'auto':
        slow_scan = jax.default_backend() == 'cpu' and resolve_impl(conv_impl) == 'xla'
        return 'unroll' if slow_scan else 'scan'
    if name not in ('unroll', 'scan'):
        raise ConfigError(f"unknown train.critic_loop {name!r}; valid: auto, unroll, scan")
    return name


def _explicit_padding(padding: Padding, kernel: Sequence[int], strides: Sequence[int],
                      size: Sequence[int]) -> list[tuple[int, int]]:
    if not isinstance(padding, str):
        return [tuple(p) for p in padding]
    return lax.padtype_to_pads(size, kernel, strides, padding)


def _check_padding(padding: Padding, names: Sequence[str]) -> None:
    if isinstance(padding, str):
        if padding not in names:
            valid = ', '.join(names)
            raise ConfigError(f'unknown conv padding {padding!r}; valid: {valid} or (lo, hi) pairs')
    elif len(padding) != 2 or any(len(p) != 2 for p in padding):
        raise ConfigError(f'conv padding must be two (lo, hi) pairs, got {padding!r}')


def conv_slices(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                pads: Sequence[tuple[int, int]]) -> jax.Array:
    """NHWC/HWIO convolution as strided slices concatenated along channels, times the kernel."""
    kh, kw, cin, cout = kernel.shape
    sh, sw = strides
    zero = jnp.zeros((), x.dtype)
    x = lax.pad(x, zero, ((0, 0, 0), (*pads[0], 0), (*pads[1], 0), (0, 0, 0)))
    n, h, w, _ = x.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    cols = [lax.slice(x, (0, i, j, 0), (n, i + sh * (ho - 1) + 1, j + sw * (wo - 1) + 1, cin), (1, sh, sw, 1))
            for i in range(kh) for j in range(kw)]
    patches = cols[0] if len(cols) == 1 else jnp.concatenate(cols, axis=-1)
    # Concatenation order (i, j, c) matches the row-major flattening of the (kh, kw, in) kernel axes.
    y = patches.reshape(-1, kh * kw * cin) @ kernel.reshape(kh * kw * cin, cout)
    return y.reshape(n, ho, wo, cout)


def conv_patches(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                 pads: Sequence[tuple[int, int]], lhs_dilation: Sequence[int] = (1, 1)) -> jax.Array:
    """NHWC/HWIO convolution as ``conv_general_dilated_patches`` (features ordered (c, i, j)) + matmul."""
    kh, kw, cin, cout = kernel.shape
    p = lax.conv_general_dilated_patches(x, (kh, kw), strides, pads, lhs_dilation=lhs_dilation,
                                         dimension_numbers=_DN)
    n, ho, wo, _ = p.shape
    k = jnp.transpose(kernel, (2, 0, 1, 3)).reshape(cin * kh * kw, cout)
    return (p.reshape(-1, cin * kh * kw) @ k).reshape(n, ho, wo, cout)


def conv_transpose_pads(kernel_size: Sequence[int], strides: Sequence[int],
                        padding: Padding) -> list[tuple[int, int]]:
    """The (lo, hi) padding of the dilated input that ``lax.conv_transpose`` uses for ``padding``: derived
    from 'SAME'/'VALID', or explicit pairs taken as they are (``lax.conv_transpose``'s default)."""
    if not isinstance(padding, str):
        return [tuple(p) for p in padding]
    out = []
    for k, s in zip(kernel_size, strides):
        if padding == 'SAME':
            total = k + s - 2
            lo = k - 1 if s > k - 1 else -(-total // 2)
        elif padding == 'VALID':
            total = k + s - 2 + max(k - s, 0)
            lo = k - 1
        else:
            raise ConfigError(f"unknown conv padding {padding!r}; valid: SAME, VALID or (lo, hi) pairs")
        out.append((lo, total - lo))
    return out


def conv_transpose_slices(x: jax.Array, kernel: jax.Array, strides: Sequence[int],
                          pads: Sequence[tuple[int, int]]) -> jax.Array:
    """``lax.conv_transpose`` (kernel not flipped) as one matmul and an interleave of its tap results.

    ``lax.conv_transpose`` correlates the stride-dilated, ``pads``-padded input with the kernel, so input
    pixel ``p`` reaches output ``o = lo + s * p - i`` through tap ``i``.
    """
    kh, kw, cin, cout = kernel.shape
    (sh, sw), ((lo_h, hi_h), (lo_w, hi_w)) = strides, pads
    n, h, w, _ = x.shape
    out_h = sh * (h - 1) + 1 + lo_h + hi_h - kh + 1
    out_w = sw * (w - 1) + 1 + lo_w + hi_w - kw + 1
    if (kh, kw) == (sh, sw) and (lo_h, hi_h, lo_w, hi_w) == (kh - 1, kh - 1, kw - 1, kw - 1):
        # The taps tile the output: o = s * p + (k - 1 - i), a depth-to-space of the flipped kernel.
        k = jnp.transpose(kernel[::-1, ::-1], (2, 0, 1, 3)).reshape(cin, kh * kw * cout)
        z = (x.reshape(-1, cin) @ k).reshape(n, h, w, kh, kw, cout)
        return jnp.transpose(z, (0, 1, 3, 2, 4, 5)).reshape(n, h * kh, w * kw, cout)
    k = jnp.transpose(kernel, (2, 0, 1, 3)).reshape(cin, kh * kw * cout)
    z = (x.reshape(-1, cin) @ k).reshape(n, h, w, kh, kw, cout)
    zero = jnp.zeros((), z.dtype)
    y = None
    for i in range(kh):
        for j in range(kw):
            lo_i, lo_j = lo_h - i, lo_w - j
            part = lax.pad(z[:, :, :, i, j, :], zero,
                           ((0, 0, 0), (lo_i, out_h - lo_i - sh * (h - 1) - 1, sh - 1),
                            (lo_j, out_w - lo_j - sw * (w - 1) - 1, sw - 1), (0, 0, 0)))
            y = part if y is None else y + part
    return y


def _cast(dtype: Any, *arrays: jax.Array) -> tuple[jax.Array, ...]:
    """``arrays`` in the compute ``dtype`` (unchanged when it is None): mixed precision keeps float32
    parameters and casts them at use, as Flax's own layers do with ``dtype`` vs ``param_dtype``."""
    return arrays if dtype is None else tuple(a.astype(dtype) for a in arrays)


class Conv(nn.Module):
    """2-D convolution on NHWC inputs."""

    features: int
    kernel_size: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    padding: Padding = 'SAME'
    use_bias: bool = True
    impl: str = 'auto'
    kernel_init: Any = nn.initializers.lecun_normal()
    dtype: Any = None  # compute dtype (None: the input's); parameters stay float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        _check_padding(self.padding, ('SAME', 'VALID'))
        impl = resolve_impl(self.impl)
        kernel = self.param('kernel', self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
        x, kernel = _cast(self.dtype, x, kernel)
        pads = _explicit_padding(self.padding, self.kernel_size, self.strides, x.shape[1:3])
        if impl == 'slices':
            y = conv_slices(x, kernel, self.strides, pads)
        elif impl == 'patches':
            y = conv_patches(x, kernel, self.strides, pads)
        else:
            y = lax.conv_general_dilated(x, kernel, self.strides, pads, dimension_numbers=_DN)
        if self.use_bias:
            y = y + _cast(self.dtype, self.param('bias', nn.initializers.zeros, (self.features,)))[0]
        return y


class ConvTranspose(nn.Module):
    """Transposed 2-D convolution on NHWC inputs (output size = input size * stride for 'SAME'), with
    ``lax.conv_transpose``'s semantics (kernel not flipped)."""

    features: int
    kernel_size: tuple[int, int] = (4, 4)
    strides: tuple[int, int] = (2, 2)
    padding: Padding = 'SAME'
    use_bias: bool = True
    impl: str = 'auto'
    kernel_init: Any = nn.initializers.lecun_normal()
    dtype: Any = None  # compute dtype (None: the input's); parameters stay float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        _check_padding(self.padding, ('SAME', 'VALID'))
        impl = resolve_impl(self.impl)
        kernel = self.param('kernel', self.kernel_init, (*self.kernel_size, x.shape[-1], self.features))
        x, kernel = _cast(self.dtype, x, kernel)
        padding = self.padding if isinstance(self.padding, str) else tuple(map(tuple, self.padding))
        if impl == 'slices':
            pads = conv_transpose_pads(self.kernel_size, self.strides, padding)
            y = conv_transpose_slices(x, kernel, self.strides, pads)
        elif impl == 'patches':
            pads = conv_transpose_pads(self.kernel_size, self.strides, padding)
            y = conv_patches(x, kernel, (1, 1), pads, lhs_dilation=self.strides)
        else:
            y = lax.conv_transpose(x, kernel, self.strides, padding, dimension_numbers=_DN)
        if self.use_bias:
            y = y + _cast(self.dtype, self.param('bias', nn.initializers.zeros, (self.features,)))[0]
        return y


SPECTRAL = 'spectral'  # the collection holding spectral norm's power-iteration vectors


def spectral(layer: nn.Module, parent: nn.Module, train: bool):
    """``layer`` with spectrally normalised weights (Miyato et al. 2018), one power iteration per call.

    The vectors advance only in training mode with the ``spectral`` collection mutable, so the call a
    gradient penalty makes (collections read-only) differentiates the same normalised function without
    advancing them a second time in one update.
    """
    update = train and parent.is_mutable_collection(SPECTRAL)
    return lambda *args: nn.SpectralNorm(layer, collection_name=SPECTRAL)(*args, update_stats=update)
