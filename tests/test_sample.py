"""Sampling maths against hand values, and the sampler against direct generator calls."""

from __future__ import annotations

import math

import jax
import ml_collections
import numpy as np
import pytest

from ganjax import sample as S
from ganjax.errors import ArgumentError
from ganjax.models.dcgan import DCGANGenerator
from ganjax.state import sample_latent


def test_parse_seeds_ranges_lists_and_bad_specs():
    assert S.parse_seeds('0-3,10') == [0, 1, 2, 3, 10]
    assert S.parse_seeds('1,5,9') == [1, 5, 9]
    assert S.parse_seeds(' 7 ') == [7]
    for bad in ('', 'a', '5-2', '-1', '1,,2', '1-2-3', '0-99999999999', '0-2000000'):
        with pytest.raises(ArgumentError, match='--seeds'):
            S.parse_seeds(bad)


def test_slerp_and_lerp_hand_values():
    a, b = np.array([2.0, 0.0]), np.array([0.0, 2.0])
    got = S.slerp(a, b, np.array([0.0, 0.5, 1.0, 0.25]))
    r2 = math.sqrt(2)
    want = [[2, 0], [r2, r2], [0, 2], [2 * math.cos(math.pi / 8), 2 * math.sin(math.pi / 8)]]
    np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(S.lerp(a, b, np.array([0.0, 0.5, 1.0])), [[2, 0], [1, 1], [0, 2]], atol=1e-7)
    # parallel vectors have no arc: the straight line
    np.testing.assert_allclose(S.slerp(a, 3 * a, np.array([0.5])), [[4.0, 0.0]], atol=1e-6)
    # unequal norms at a right angle: 1/sqrt2 of each at t = 0.5 (sin(pi/4) / sin(pi/2))
    np.testing.assert_allclose(S.slerp(np.array([1.0, 0]), np.array([0, 3.0]), np.array([0.5])),
                               [[1 / r2, 3 / r2]], atol=1e-6)


def test_interpolation_paths_join_consecutive_seeds():
    z = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    paths = S.interpolation_paths(z, 3, 'slerp')
    assert paths.shape == (2, 3, 2)
    np.testing.assert_allclose(paths[:, 0], z[:2], atol=1e-7)
    np.testing.assert_allclose(paths[:, -1], z[1:], atol=1e-7)
    np.testing.assert_allclose(paths[1, 1], [-1 / math.sqrt(2), 1 / math.sqrt(2)], atol=1e-6)
    with pytest.raises(ArgumentError, match='method'):
        S.interpolation_paths(z, 3, 'cubic')
    with pytest.raises(ArgumentError, match='two seeds'):
        S.interpolation_paths(z[:1], 3)


def test_truncation_pulls_towards_the_mean():
    z = S.seed_latents([0, 1, 2], 4)
    mean = S.latent_mean(4, 'normal')
    assert np.array_equal(mean, np.zeros(4))
    np.testing.assert_array_equal(S.truncate(z, 0.0, mean), np.zeros_like(z))
    np.testing.assert_array_equal(S.truncate(z, 1.0, mean), z)
    np.testing.assert_allclose(S.truncate(z, 0.5, mean), z / 2, rtol=1e-7)
    # the uniform latent's mean is estimated; the true one is 0 (standard error ~0.002)
    np.testing.assert_allclose(S.latent_mean(8, 'uniform'), np.zeros(8), atol=0.01)
    for bad in (-0.1, 1.5, float('nan'), float('inf')):
        with pytest.raises(ArgumentError, match='truncation'):
            S.truncate(z, bad, mean)


def test_each_seed_has_its_own_latent():
    z = S.seed_latents([3, 7], 5, 'uniform')
    np.testing.assert_array_equal(z[1], np.asarray(sample_latent(jax.random.PRNGKey(7), (5,), 'uniform')))
    np.testing.assert_array_equal(S.seed_latents([7], 5, 'uniform')[0], z[1])


@pytest.fixture(scope='module')
def sampler():
    G = DCGANGenerator(image_shape=(28, 28, 1), width=8, num_classes=3)
    variables = G.init(jax.random.PRNGKey(0), np.zeros((2, 6), np.float32), np.zeros(2, np.int32), train=False)
    variables = dict(variables)
    params = variables.pop('params')
    config = ml_collections.ConfigDict({'model': {'latent_dim': 6, 'latent_dist': 'normal'}})
    return S.Sampler(G, params, variables, config, step=5, ema=True)


def test_a_seed_gives_the_image_of_a_direct_generator_call_whatever_the_batch(sampler):
    seeds = list(range(70))  # more than one padded chunk
    z = sampler.latents(seeds)
    labels = sampler.labels(seeds)
    np.testing.assert_array_equal(labels, np.arange(70) % 3)
    out = sampler(z, labels)
    z7 = sample_latent(jax.random.PRNGKey(7), (1, 6))
    direct = sampler.generator.apply({'params': sampler.params, **sampler.collections}, z7,
                                     np.array([7 % 3], np.int32), train=False)
    np.testing.assert_allclose(out[7], np.asarray(direct)[0], atol=1e-5)
    alone = sampler(sampler.latents([7]), sampler.labels([7]))
    np.testing.assert_array_equal(alone[0], out[7])  # bit for bit: chunks are padded to one shape
    assert not np.allclose(out[7], out[8])


def test_truncation_zero_makes_every_seed_the_mean_latents_sample(sampler):
    out = sampler(sampler.latents([1, 2, 3], truncation=0.0), sampler.labels([0, 0, 0], 1))
    mean = sampler(np.zeros((1, 6), np.float32), np.array([1], np.int32))
    np.testing.assert_allclose(out, np.repeat(mean, 3, axis=0), atol=1e-6)


def test_class_argument_is_checked(sampler):
    np.testing.assert_array_equal(sampler.labels([4, 5], 2), [2, 2])
    with pytest.raises(ArgumentError, match='0..2'):
        sampler.labels([0], 3)
    unconditional = S.Sampler(DCGANGenerator(image_shape=(28, 28, 1)), None, {}, sampler.config, 1, True)
    assert unconditional.labels([0, 1]) is None
    with pytest.raises(ArgumentError, match='not conditional'):
        unconditional.labels([0], 1)
