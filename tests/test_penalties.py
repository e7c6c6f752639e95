"""Gradient penalties against closed forms.

A linear critic ``D(x) = w . x + b`` has input gradient ``w`` everywhere, so GP = (|w| - 1)^2, the
one-sided GP = relu(|w| - 1)^2 and R1 = R2 = |w|^2 / 2; the gradient of GP with respect to ``w`` (the
double backward the step relies on) is ``2 (|w| - 1) w / |w|``. A quadratic critic ``D(x) = |x|^2 / 2``
has input gradient ``x``.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ganjax import penalties
from ganjax.errors import ConfigError

KEY = jax.random.PRNGKey(0)
REAL = jax.random.normal(jax.random.PRNGKey(1), (8, 3))
FAKE = jax.random.normal(jax.random.PRNGKey(2), (8, 3)) + 2.0


def linear(w, b=0.3):
    return lambda x: x @ w + b


@pytest.mark.parametrize('w', [[3.0, 4.0, 0.0], [0.1, 0.2, -0.2]])
def test_gp_linear_critic(w):
    w = jnp.array(w)
    norm = float(jnp.linalg.norm(w))
    gp = penalties.wgan_gp()(linear(w), REAL, FAKE, KEY)
    np.testing.assert_allclose(float(gp), (norm - 1) ** 2, rtol=1e-5)
    one_sided = penalties.wgan_gp(one_sided=True)(linear(w), REAL, FAKE, KEY)
    np.testing.assert_allclose(float(one_sided), max(norm - 1, 0) ** 2, rtol=1e-5, atol=1e-12)


def test_gp_double_backward_linear_critic():
    w = jnp.array([3.0, 4.0, 0.0])
    grad = jax.grad(lambda w: penalties.wgan_gp()(linear(w), REAL, FAKE, KEY))(w)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(2 * (5.0 - 1) * w / 5.0), rtol=1e-5)


def test_r1_r2_linear_critic():
    w = jnp.array([1.0, -2.0, 2.0])
    np.testing.assert_allclose(float(penalties.r1()(linear(w), REAL, FAKE, KEY)), 4.5, rtol=1e-6)
    np.testing.assert_allclose(float(penalties.r2()(linear(w), REAL, FAKE, KEY)), 4.5, rtol=1e-6)
    grad = jax.grad(lambda w: penalties.r1()(linear(w), REAL, FAKE, KEY))(w)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(w), rtol=1e-6)  # d(|w|^2/2)/dw = w


def test_quadratic_critic_uses_the_right_points():
    quad = lambda x: 0.5 * jnp.sum(x**2, axis=1)
    np.testing.assert_allclose(float(penalties.r1()(quad, REAL, FAKE, KEY)),
                               0.5 * np.mean(np.sum(np.asarray(REAL) ** 2, 1)), rtol=1e-5)
    np.testing.assert_allclose(float(penalties.r2()(quad, REAL, FAKE, KEY)),
                               0.5 * np.mean(np.sum(np.asarray(FAKE) ** 2, 1)), rtol=1e-5)
    # a fixed interpolation weight makes x_hat known: 0.25 real + 0.75 fake
    fixed = lambda key, shape: jnp.full(shape, 0.25)
    x_hat = 0.25 * np.asarray(REAL) + 0.75 * np.asarray(FAKE)
    expected = np.mean((np.linalg.norm(x_hat, axis=1) - 1.0) ** 2)
    np.testing.assert_allclose(float(penalties.wgan_gp()(quad, REAL, FAKE, KEY, fixed)), expected, rtol=1e-5)


def test_gp_interpolates_per_example():
    # with a quadratic critic, the gradient norm at x_hat = e x + (1 - e) y tells e back for each example
    seen = []

    def uniform(key, shape):
        u = jax.random.uniform(key, shape)
        seen.append(u)
        return u

    quad = lambda x: 0.5 * jnp.sum(x**2, axis=1)
    penalties.wgan_gp()(quad, REAL, FAKE, KEY, uniform)
    assert seen[0].shape == (8, 1)
    assert len(np.unique(np.asarray(seen[0]))) == 8


def test_dragan_linear_critic():
    w = jnp.array([0.0, 2.0, 0.0])
    np.testing.assert_allclose(float(penalties.dragan()(linear(w), REAL, FAKE, KEY)), 1.0, rtol=1e-5)


def _cfg(**kw):
    c = ml_collections.ConfigDict(dict(name='wgan_gp', weight=10.0, target=1.0, every=1, dragan_c=0.5))
    c.update(kw)
    return c


@pytest.mark.parametrize('kw', [dict(name='gp'), dict(every=0), dict(weight=-1.0)])
def test_bad_penalty_config(kw):
    with pytest.raises(ConfigError):
        penalties.get_penalty(_cfg(**kw))
