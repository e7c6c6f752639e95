"""Perceptual path length against a closed form, and sampling with truncation and style mixing.

A generator linear in w, ``images = (mean_l ws_l) B`` with ``w = z A``, moves by ``eps (w1 - w0) B`` along
a w path, so with the identity as the feature map each path's distance / eps^2 is ``|(z1 - z0) A B|^2``
whatever t: 'end' and 'full' sampling must both give the filtered mean of those numbers."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax.metrics.ppl import filtered_mean, perceptual_path_length, slerp
from ganjax.models.stylegan2 import StyleGAN2Generator
from ganjax.sample import Sampler
from tests.conftest import tiny_config

D, W = 6, 5


class LinearStyle(nn.Module):
    num_ws = 3

    def setup(self):
        self.a = self.param('a', nn.initializers.normal(1.0), (D, W))
        self.b = self.param('b', nn.initializers.normal(1.0), (W, 12))

    def __call__(self, z, cond=None, *, train=True, ws=None):
        ws = self.styles(z) if ws is None else ws
        return (ws.mean(axis=1) @ self.b).reshape(-1, 2, 2, 3)

    def styles(self, z, cond=None, *, train=True):
        return jnp.repeat((z @ self.a)[:, None], self.num_ws, axis=1)


@pytest.mark.parametrize('sampling', ['end', 'full'])
def test_ppl_of_a_linear_generator_in_w_is_the_closed_form(sampling):
    g = LinearStyle()
    v = g.init(jax.random.PRNGKey(0), jnp.zeros((1, D)))
    ident = lambda x: np.asarray(x).reshape(len(x), -1)
    got = perceptual_path_length(g, v, ident, D, num_samples=256, space='w', sampling=sampling, batch_size=64,
                                 epsilon=1e-2, seed=3)
    ab = np.asarray(v['params']['a'], np.float64) @ np.asarray(v['params']['b'], np.float64)
    want = []
    for i in range(4):
        k0, k1, _ = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(3), i), 3)
        dz = np.asarray(jax.random.normal(k1, (64, D))) - np.asarray(jax.random.normal(k0, (64, D)))
        want.append(np.sum(np.square(dz @ ab), axis=1))
    want = np.concatenate(want)
    lo, hi = np.sort(want)[int(0.01 * 255)], np.sort(want)[int(np.ceil(0.99 * 255))]
    assert got == pytest.approx(np.mean(want[(want >= lo) & (want <= hi)]), rel=2e-3)
    assert filtered_mean(want) != pytest.approx(np.mean(want), rel=1e-3)  # the filter drops something


def test_slerp_keeps_unit_norm_and_ends():
    a, b = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 7))
    for t in (0.0, 0.3, 1.0):
        p = slerp(a, b, jnp.full((4, 1), t))
        np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(slerp(a, b, jnp.ones((4, 1))), b / jnp.linalg.norm(b, axis=1, keepdims=True), atol=1e-5)


def test_sampler_truncates_in_w_and_mixes_two_seeds():
    g = StyleGAN2Generator((8, 8, 1), width=4, w_dim=6, mapping_layers=2)
    v = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 5)), train=False)
    cols = {'style': {'mapping': {'w_avg': jnp.linspace(-1, 1, 6)}}}
    s = Sampler(g, v['params'], cols, tiny_config(**{'model.latent_dim': 5}), 0, True)
    seeds = [1, 2, 3]
    z = s.latents(seeds, 0.0)
    np.testing.assert_array_equal(z, s.latents(seeds, 1.0))  # z untouched: the generator truncates in w
    s.latents(seeds, 0.0)
    x0 = s(z)  # psi = 0: every seed gives the image of w_avg
    np.testing.assert_allclose(x0, np.broadcast_to(x0[:1], x0.shape), atol=1e-6)
    want = g.apply({'params': v['params'], **cols}, None, ws=jnp.broadcast_to(cols['style']['mapping']['w_avg'],
                                                                               (1, g.num_ws, 6)), train=False)
    np.testing.assert_allclose(x0[:1], np.asarray(want), atol=1e-5)
    s.latents(seeds, 1.0)
    x1 = s(z)
    assert np.abs(x1 - x0).max() > 1e-3
    z2 = s.latents([7, 7, 7], 1.0)
    np.testing.assert_allclose(s.mix(z, z2, g.num_ws), x1, atol=1e-5)  # cut-off at the end: all from z
    np.testing.assert_allclose(s.mix(z, z2, 0), np.broadcast_to(s(z2[:1]), x1.shape), atol=1e-5)
    half = s.mix(z, z2, 2)
    assert np.abs(half - x1).max() > 1e-4 and np.abs(half - s(z2)).max() > 1e-4
