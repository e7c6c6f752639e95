"""StyleGAN (v1): AdaIN against a hand computation, and the generator shares StyleGAN2's mapping and
mixing (layers before the cut-off styled by w1, after by w2)."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.models.stylegan import AdaIN, StyleGANGenerator


def test_adain_sets_each_channels_mean_and_std_from_the_style():
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 5, 5, 4)) * 3.0 + 1.0
    w = jax.random.normal(jax.random.PRNGKey(1), (3, 7))
    layer = AdaIN()
    v = layer.init(jax.random.PRNGKey(2), x, w)
    y = np.asarray(layer.apply(v, x, w), np.float64)
    p = v['params']['affine']
    style = np.asarray(w) @ (np.asarray(p['kernel']) / math.sqrt(7)) + np.asarray(p['bias'])  # equalised LR
    ys, yb = style[:, :4], style[:, 4:]
    xs = np.asarray(x, np.float64)
    xn = (xs - xs.mean(axis=(1, 2), keepdims=True)) / xs.std(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(y, (1 + ys)[:, None, None] * xn + yb[:, None, None], rtol=1e-4, atol=1e-4)


def test_stylegan_generator_mixes_styles_at_the_cutoff():
    g = StyleGANGenerator((8, 8, 1), width=4, w_dim=6, mapping_layers=2)
    z1, z2 = jax.random.normal(jax.random.PRNGKey(0), (2, 2, 5))
    v = g.init(jax.random.PRNGKey(1), z1, train=False)
    w1 = g.apply(v, z1, method='styles', train=False)
    w2 = g.apply(v, z2, method='styles', train=False)
    ws = g.apply(v, z1, method='styles', train=False, z2=z2, cutoff=jnp.int32(1))
    np.testing.assert_array_equal(np.asarray(ws[:, :1]), np.asarray(w1[:, :1]))
    np.testing.assert_array_equal(np.asarray(ws[:, 1:]), np.asarray(w2[:, 1:]))
    mixed = g.apply(v, z1, train=False, z2=z2, cutoff=jnp.int32(1))
    np.testing.assert_allclose(np.asarray(mixed), np.asarray(g.apply(v, None, ws=ws, train=False)), atol=1e-6)
    assert not np.allclose(np.asarray(mixed), np.asarray(g.apply(v, z1, train=False)), atol=1e-4)
