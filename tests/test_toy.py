"""The toy mixtures and their mode metrics against hand computations."""

import math

import numpy as np
import pytest

from ganjax.data.toy import grid_modes, ring_modes, sample_mixture
from ganjax.errors import ConfigError
from ganjax.metrics.toy import mode_metrics


def test_mode_layouts():
    ring = ring_modes(8, 1.0)
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ring[2], [0.0, 1.0], atol=1e-12)  # 90 degrees
    grid = grid_modes(25, 2.0)
    assert sorted(set(np.round(grid[:, 0], 9))) == [-4, -2, 0, 2, 4]
    assert len({tuple(p) for p in grid}) == 25
    with pytest.raises(ConfigError):
        grid_modes(24)


def test_samples_follow_the_mixture():
    modes = ring_modes(8, 1.0)
    x = sample_mixture(np.random.default_rng(0), modes, 0.01, 40000)
    nearest = np.argmin(((x[:, None] - modes[None]) ** 2).sum(-1), 1)
    np.testing.assert_allclose(np.bincount(nearest) / len(x), 1 / 8, atol=0.01)
    np.testing.assert_allclose(np.std(x - modes[nearest]), 0.01, rtol=0.03)


def test_perfect_samples():
    modes = ring_modes(8, 1.0)
    m = mode_metrics(np.repeat(modes, 10, axis=0), modes, 0.01)
    assert m == {'modes': 8.0, 'hq_fraction': 1.0, 'reverse_kl': 0.0}


def test_collapsed_samples():
    modes = ring_modes(8, 1.0)
    m = mode_metrics(np.repeat(modes[:1], 50, axis=0), modes, 0.01)
    assert m['modes'] == 1.0 and m['hq_fraction'] == 1.0
    np.testing.assert_allclose(m['reverse_kl'], math.log(8))  # p = (1, 0, ...): 1 * log(8 * 1)


def test_hand_computed_mix():
    modes = np.array([[0.0, 0.0], [10.0, 0.0]])
    std = 0.1
    samples = np.array([[0.2, 0.0],  # nearest mode 0, within 3 std (0.3): HQ
                        [0.5, 0.0],  # nearest mode 0, not HQ
                        [9.0, 0.0],  # nearest mode 1, not HQ
                        [4.0, 0.0]])  # nearest mode 0, not HQ
    m = mode_metrics(samples, modes, std)
    assert m['modes'] == 1.0  # mode 1 has no HQ sample
    assert m['hq_fraction'] == 0.25
    p = np.array([0.75, 0.25])
    np.testing.assert_allclose(m['reverse_kl'], float(np.sum(p * np.log(2 * p))))
