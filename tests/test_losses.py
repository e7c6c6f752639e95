"""Each loss against values computed by hand (with math, not with the code under test)."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import losses
from ganjax.errors import ConfigError

R = jnp.array([2.0, -1.0])  # discriminator outputs on a real batch
F = jnp.array([0.5, -3.0])  # ... and on a fake batch


def sp(t):  # softplus by hand
    return math.log1p(math.exp(t))


def mean(*v):
    return sum(v) / len(v)


HAND = {
    'minimax': (mean(sp(-2), sp(1)) + mean(sp(0.5), sp(-3)), -mean(sp(0.5), sp(-3))),
    'non_saturating': (mean(sp(-2), sp(1)) + mean(sp(0.5), sp(-3)), mean(sp(-0.5), sp(3))),
    'wasserstein': (mean(0.5, -3) - mean(2, -1), -mean(0.5, -3)),
    'hinge': (mean(0, 2) + mean(1.5, 0), -mean(0.5, -3)),
    'least_squares': (0.5 * (mean(1, 4) + mean(0.25, 9)), 0.5 * mean(0.25, 16)),
    # pairs (r - f) = (1.5, 2)
    'rpgan': (mean(sp(-1.5), sp(-2)), mean(sp(-(0.5 - 2)), sp(-(-3 + 1)))),
    # mean f = -1.25, mean r = 0.5
    'ragan': (mean(sp(-(2 + 1.25)), sp(-(-1 + 1.25))) + mean(sp(0.5 - 0.5), sp(-3 - 0.5)),
              mean(sp(-(0.5 - 0.5)), sp(-(-3 - 0.5))) + mean(sp(2 + 1.25), sp(-1 + 1.25))),
}


@pytest.mark.parametrize('name', sorted(HAND))
def test_loss_matches_hand_computation(name):
    loss = losses.get_loss(name)
    d_hand, g_hand = HAND[name]
    np.testing.assert_allclose(float(loss.d_loss(R, F)), d_hand, rtol=1e-6)
    np.testing.assert_allclose(float(loss.g_loss(R, F)), g_hand, rtol=1e-6)


def test_every_loss_has_a_hand_value():
    assert sorted(HAND) == losses.loss_names()


def test_one_sided_label_smoothing():
    loss = losses.get_loss('non_saturating', label_smoothing=0.1)
    # real target 0.9: -0.9 log s(r) - 0.1 log(1 - s(r)) = 0.9 sp(-r) + 0.1 sp(r); fakes unchanged
    real = mean(0.9 * sp(-2) + 0.1 * sp(2), 0.9 * sp(1) + 0.1 * sp(-1))
    np.testing.assert_allclose(float(loss.d_loss(R, F)), real + mean(sp(0.5), sp(-3)), rtol=1e-6)
    np.testing.assert_allclose(float(loss.g_loss(R, F)), HAND['non_saturating'][1], rtol=1e-6)


def test_minimax_optimum_is_log4():
    # at D's optimum against p_g = p_data, D outputs 1/2 everywhere (logit 0): loss = 2 log 2
    zero = jnp.zeros(4)
    np.testing.assert_allclose(float(losses.get_loss('minimax').d_loss(zero, zero)), math.log(4), rtol=1e-6)


@pytest.mark.parametrize('name,smoothing', [('nope', 0.0), ('hinge', 0.1), ('minimax', 1.0)])
def test_bad_loss_config(name, smoothing):
    with pytest.raises(ConfigError):
        losses.get_loss(name, smoothing)
