"""StyleGAN3-T subset: the Kaiser low-pass filter's response, and the filtered nonlinearity removing what
the nonlinearity adds above the cut-off."""

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.models.stylegan3 import StyleGAN3Generator, filtered_lrelu, lowpass_filter


def response(taps, f, fs):
    n = np.arange(len(taps)) - (len(taps) - 1) / 2
    return abs(np.sum(taps * np.exp(-2j * np.pi * f / fs * n)))


def test_lowpass_passes_below_and_stops_above_the_band():
    fs, fc, width = 64.0, 8.0, 4.0
    taps = lowpass_filter(24, fc, width, fs)
    np.testing.assert_allclose(taps, taps[::-1], atol=1e-7)  # linear phase
    assert abs(response(taps, 0.0, fs) - 1) < 1e-6
    assert abs(response(taps, fc - width, fs) - 1) < 0.05
    assert response(taps, fc + width, fs) < 0.05 and response(taps, fs / 2, fs) < 0.01


def test_filtered_lrelu_keeps_low_and_removes_high_frequencies():
    """A lone sinusoid far below the cut-off keeps its frequency; the nonlinearity's harmonics above the
    cut-off are attenuated compared with the unfiltered leaky ReLU."""
    size, fc = 32, 4.0
    taps = lowpass_filter(12, fc, fc / 2, 2 * size)
    p = np.arange(size)
    x = np.sin(2 * np.pi * 2 * p / size)[None, :, None, None] * np.ones((1, size, 1, 1))
    y = np.asarray(filtered_lrelu(jnp.asarray(x, jnp.float32), taps))[0, :, 0, 0]
    raw = np.asarray(jax.nn.leaky_relu(jnp.asarray(x, jnp.float32), 0.2) * np.sqrt(2))[0, :, 0, 0]
    spec_y, spec_raw = np.abs(np.fft.rfft(y[4:-4] * np.hanning(size - 8))), np.abs(np.fft.rfft(raw[4:-4] * np.hanning(size - 8)))
    high = slice(int(2 * fc * (size - 8) / size), None)  # well above the cut-off
    assert spec_y[high].sum() < 0.3 * spec_raw[high].sum()


def test_filtered_lrelu_equals_zero_insertion_filtering_and_decimation_done_naively():
    """The banded-matmul form against the definition, loop by loop: insert zeros, 'SAME'-filter each
    axis (output o reads o + j - (k - 1) // 2), gain 4, leaky ReLU x sqrt 2, filter, keep even samples;
    odd tap counts and sizes included."""
    def same(v, taps, axis):
        k, lo = len(taps), (len(taps) - 1) // 2
        v = np.moveaxis(v, axis, -1)
        padded = np.concatenate([np.zeros(v.shape[:-1] + (lo,)), v, np.zeros(v.shape[:-1] + (k - 1 - lo,))], -1)
        out = np.zeros_like(v)
        for o in range(v.shape[-1]):
            for j in range(k):
                out[..., o] += taps[j] * padded[..., o + j]
        return np.moveaxis(out, -1, axis)

    rng = np.random.default_rng(0)
    for numtaps, shape in ((12, (2, 6, 8, 3)), (7, (1, 5, 9, 2))):
        taps = lowpass_filter(numtaps, 3.0, 1.5, 16).astype(np.float64)
        x = rng.normal(size=shape)
        up = np.zeros((shape[0], 2 * shape[1], 2 * shape[2], shape[3]))
        up[:, ::2, ::2] = x
        up = same(same(up, taps, 1), taps, 2) * 4.0
        up = np.where(up > 0, up, 0.2 * up) * np.sqrt(2)
        want = same(same(up, taps, 1), taps, 2)[:, ::2, ::2]
        got = np.asarray(filtered_lrelu(jnp.asarray(x, jnp.float32), taps))
        np.testing.assert_allclose(got, want, atol=2e-5 * np.abs(want).max())


def test_generator_makes_finite_images_that_depend_on_z():
    g = StyleGAN3Generator((16, 16, 1), width=8, w_dim=6, mapping_layers=1)
    z = jax.random.normal(jax.random.PRNGKey(0), (2, 5))
    v = g.init(jax.random.PRNGKey(1), z, train=False)
    y = g.apply(v, z, train=False)
    assert y.shape == (2, 16, 16, 1) and np.all(np.isfinite(np.asarray(y)))
    assert np.abs(np.asarray(y[0] - y[1])).max() > 1e-3
