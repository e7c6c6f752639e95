"""StyleGAN3-T (Karras et al. 2021) at small resolution: an honest subset of the alias-free generator.

Implemented:

* Fourier-feature input: ``C`` sinusoids ``sin(2 pi (f . p + phi))`` over the output grid ``p`` (in
  units of the image side), frequencies ``f`` drawn once (fixed key) uniformly in the disc of radius 2
  (the first layer's cut-off), random phases; a translation ``t = A(w_0)`` (equalised affine, starting
  at 0) shifts the features (``phi += f . t``): the "T" configuration's only transformation; a learned
  1x1 linear map to ``model.width`` channels.
* ``num_ws - 2`` layers of 3x3 modulated, demodulated convolution (StyleGAN2's, shared with
  :mod:`ganjax.models.stylegan2`) + bias, each followed by a filtered leaky ReLU: 2x upsampling by zero
  insertion and a Kaiser-windowed-sinc low-pass (:func:`lowpass_filter`), the nonlinearity at the doubled
  rate, then the same low-pass and 2x decimation, so that the nonlinearity's new high frequencies are
  filtered out before the signal returns to the layer's sampling rate. Cut-offs grow geometrically from
  2 to ``R / 2`` over the layers (transition band half the cut-off).
* A 1x1 modulated toRGB (no demodulation) on the last layer.

Not implemented (stated plainly): the extended canvas with margins cropped per layer and per-layer
sampling rates (every layer here runs at the output resolution with zero padding, which breaks exact
equivariance near the borders); the paper's stopband schedule (attenuation targets per layer); the
input-magnitude EMA normalisation; the rotation-equivariant R configuration; output clamping. The
discriminator is StyleGAN2's. Translation equivariance is therefore approximate and not measured
(the paper's EQ-T metric is not implemented).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganjax.models.style import LRELU_GAIN, StyleGenerator
from ganjax.models.stylegan2 import ModulatedConv


def kaiser_beta(attenuation_db: float) -> float:
    """Kaiser's empirical window parameter for a stopband attenuation (dB)."""
    a = attenuation_db
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float) -> np.ndarray:
    """A Kaiser-windowed sinc low-pass FIR of ``numtaps`` taps, cut-off ``cutoff`` and transition band
    ``width`` (both in the units of the sampling rate ``fs``), normalised to unit DC gain. The window's
    beta comes from Kaiser's attenuation estimate for that many taps and that band."""
    attenuation = 2.285 * (numtaps - 1) * math.pi * (width / (fs / 2)) + 7.95
    n = np.arange(numtaps) - (numtaps - 1) / 2
    h = np.sinc(2 * cutoff / fs * n) * np.kaiser(numtaps, kaiser_beta(attenuation))
    return (h / h.sum()).astype(np.float32)


def resampling_matrix(size: int, taps: np.ndarray, up: bool) -> np.ndarray:
    """The linear map along one axis of length ``size`` that 2x-upsamples (zero insertion, then 'SAME'
    filtering with ``taps``; ``up``) or 'SAME'-filters with ``taps`` and keeps every second sample.

    Output ``o`` of the 'SAME' filter reads input ``o + j - (k - 1) // 2`` with weight ``taps[j]``; up,
    the zero-inserted signal is non-zero only at even positions ``2 i``."""
    k, lo = len(taps), (len(taps) - 1) // 2
    if up:
        out, idx = np.arange(2 * size)[:, None], np.arange(size)[None, :]
        j = 2 * idx - out + lo
    else:
        out, idx = np.arange(size // 2)[:, None], np.arange(size)[None, :]
        j = idx - 2 * out + lo
    inside = (j >= 0) & (j < k)
    return np.where(inside, np.asarray(taps, np.float64)[np.clip(j, 0, k - 1)], 0.0).astype(np.float32)


def filtered_lrelu(x: jax.Array, taps: np.ndarray) -> jax.Array:
    """Upsample 2x (zero insertion, low-pass, gain 4), leaky ReLU x sqrt 2, low-pass, decimate 2x.

    Each separable filter pass is a matmul with a small banded matrix (:func:`resampling_matrix`) along
    one spatial axis. A one-channel convolution over ``n * c`` images (the first form) runs as a slow
    scalar loop under XLA's CPU backend and sums of shifted slices are memory-bound; though most of the
    matrices' entries are zero, the matmuls made one layer's forward + backward (batch 32, 32x32x32) 14x
    faster than the convolution here (56 against 765 ms) and 3.5x faster than the slices."""
    h, w = x.shape[1:3]
    mat = lambda size, up: jnp.asarray(resampling_matrix(size, taps, up))
    up = jnp.einsum('ih,nhwc->niwc', 2.0 * mat(h, True), x)
    up = jnp.einsum('jw,niwc->nijc', 2.0 * mat(w, True), up)
    up = nn.leaky_relu(up, 0.2) * LRELU_GAIN
    down = jnp.einsum('hi,nijc->nhjc', mat(2 * h, False), up)
    return jnp.einsum('wj,nhjc->nhwc', mat(2 * w, False), down)


class FourierInput(nn.Module):
    channels: int
    size: int
    bandlimit: float = 2.0

    @nn.compact
    def __call__(self, w: jax.Array) -> jax.Array:
        rng = np.random.default_rng(0x5636)  # fixed: the frequencies are part of the architecture
        radius = self.bandlimit * np.sqrt(rng.uniform(size=self.channels))
        angle = rng.uniform(0, 2 * np.pi, self.channels)
        freqs = jnp.asarray(np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1), jnp.float32)
        phases = jnp.asarray(rng.uniform(-0.5, 0.5, self.channels), jnp.float32)
        # translation from w, equalised, starting at 0 (the reference initialises this affine to identity)
        t = w @ self.param('translate', nn.initializers.zeros, (w.shape[-1], 2)) / math.sqrt(w.shape[-1])
        grid = (jnp.arange(self.size, dtype=jnp.float32) + 0.5) / self.size - 0.5
        p = jnp.stack(jnp.meshgrid(grid, grid, indexing='ij'), -1)  # (S, S, 2): (y, x)
        phase = p @ freqs.T + phases  # (S, S, C)
        shift = t @ freqs.T  # (n, C)
        x = jnp.sin(2 * np.pi * (phase[None] + shift[:, None, None, :]))
        weight = self.param('weight', nn.initializers.normal(1.0), (self.channels, self.channels))
        return x @ (weight / math.sqrt(self.channels))


class AliasFreeSynthesis(nn.Module):
    image_shape: tuple[int, int, int]
    width: int
    num_layers: int
    form: str = 'auto'
    impl: str = 'auto'
    numtaps: int = 6

    @nn.compact
    def __call__(self, ws: jax.Array) -> jax.Array:
        size = self.image_shape[0]
        x = FourierInput(self.width, size, name='input')(ws[:, 0])
        cutoffs = np.geomspace(2.0, size / 2, self.num_layers)
        for i, fc in enumerate(cutoffs):
            x = ModulatedConv(self.width, 3, form=self.form, impl=self.impl, name=f'conv{i}')(x, ws[:, i + 1])
            x = x + self.param(f'bias{i}', nn.initializers.zeros, (self.width,))
            taps = lowpass_filter(2 * self.numtaps, fc, fc / 2, 2 * size)  # at the doubled rate 2 * size
            x = filtered_lrelu(x, taps)
        rgb = ModulatedConv(self.image_shape[-1], 1, demodulate=False, form=self.form, impl=self.impl,
                            name='to_rgb')(x, ws[:, -1])
        return rgb + self.param('rgb_bias', nn.initializers.zeros, (self.image_shape[-1],))


class StyleGAN3Generator(StyleGenerator):
    """``G(z, cond, train)`` -> images through the alias-free synthesis subset (``num_ws - 2`` layers)."""

    def make_synthesis(self) -> nn.Module:
        return AliasFreeSynthesis(self.image_shape, self.width, self.num_ws - 2, self.form, self.impl)
