"""The train step against a reference written out by hand with jax.grad and optax, and its invariants."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganjax import data, models
from ganjax.state import GANState, create_state, make_optimizers
from ganjax.step import jit_train_step, make_train_step
from tests.conftest import tiny_config

softplus = jax.nn.softplus


def _setup(**overrides):
    c = tiny_config(**overrides)
    src = data.get_source(c.data, c.seed)
    g, d = models.get_models(c.model, src.example_shape)
    state = create_state(c, g, d, src.example_shape)
    batch = next(src.iterate(c.train.batch_size * c.train.d_steps))
    return c, g, d, state, {'x': jnp.asarray(batch['x'])}


def _reference_step(c, g, d, state, x):
    """Non-saturating loss + R1, d_steps critic updates then one G update, written independently."""
    g_tx, d_tx = make_optimizers(c.train)
    k = c.train.d_steps
    n = x.shape[0] // k
    key = jax.random.fold_in(state.rng, state.step)
    k_critic, k_gen = jax.random.split(key)
    critic_keys = jax.random.split(k_critic, k)
    G = lambda p, z: g.apply({'params': p}, z, None, train=True)
    D = lambda p, v: d.apply({'params': p}, v, None, train=True)
    d_params, d_opt = state.d_params, state.d_opt_state
    for i in range(k):
        real = x[i::k]  # example j * k + i
        k_z, _ = jax.random.split(critic_keys[i])
        fake = G(state.g_params, jax.random.normal(k_z, (n, c.model.latent_dim)))

        def d_loss(p):
            adv = jnp.mean(softplus(-D(p, real))) + jnp.mean(softplus(D(p, fake)))
            grad_x = jax.vmap(jax.grad(lambda v: D(p, v[None])[0]))(real)
            return adv + c.penalty.weight * 0.5 * jnp.mean(jnp.sum(grad_x**2, axis=1))

        grads = jax.grad(d_loss)(d_params)
        upd, d_opt = d_tx.update(grads, d_opt, d_params)
        d_params = optax.apply_updates(d_params, upd)
    z = jax.random.normal(k_gen, (n, c.model.latent_dim))
    g_grads = jax.grad(lambda p: jnp.mean(softplus(-D(d_params, G(p, z)))))(state.g_params)
    upd, _ = g_tx.update(g_grads, state.g_opt_state, state.g_params)
    return d_params, optax.apply_updates(state.g_params, upd)


@pytest.mark.parametrize('loop', ['unroll', 'scan'])
def test_step_matches_reference(loop):
    c, g, d, state, batch = _setup(**{'penalty.name': 'r1', 'penalty.weight': 2.0, 'train.d_steps': 2,
                                      'train.critic_loop': loop})
    d_ref, g_ref = _reference_step(c, g, d, state, batch['x'])
    new, metrics = make_train_step(c, g, d)(state, batch)
    for ours, ref in ((new.d_params, d_ref), (new.g_params, g_ref)):
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6), ours, ref)
    assert int(new.step) == 1 and float(metrics['nonfinite']) == 0


def test_updates_touch_only_their_own_network():
    c, g, d, state, batch = _setup(**{'train.g_lr': 1e-30})  # G barely moves: D must still move
    new, _ = make_train_step(c, g, d)(state, batch)
    assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, new.d_params, state.d_params)))
    # the G update must have used G's own (tiny) rate: a change far smaller than float32 spacing
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-20), new.g_params, state.g_params)
    c, g, d, state, batch = _setup(**{'train.d_lr': 1e-30})
    new, _ = make_train_step(c, g, d)(state, batch)
    assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, new.g_params, state.g_params)))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-20), new.d_params, state.d_params)


def test_ema_update():
    c, g, d, state, batch = _setup(**{'train.ema_decay': 0.9})
    new, _ = make_train_step(c, g, d)(state, batch)
    expected = jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, state.ema_params, new.g_params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), new.ema_params, expected)


def test_lazy_regularisation():
    c, g, d, state, batch = _setup(**{'penalty.name': 'r1', 'penalty.every': 3, 'train.d_steps': 1})
    step = jax.jit(make_train_step(c, g, d))
    c1, *_ = _setup(**{'penalty.name': 'r1', 'penalty.every': 1, 'train.d_steps': 1})
    eager = jax.jit(make_train_step(c1, g, d))
    for i in range(4):
        _, m_lazy = step(state, batch)
        _, m_full = eager(state, batch)
        expected = 3 * float(m_full['penalty']) if i % 3 == 0 else 0.0
        np.testing.assert_allclose(float(m_lazy['penalty']), expected, rtol=1e-5)
        state = state.replace(step=state.step + 1)


def test_weight_clipping_keeps_discriminator_in_range():
    c, g, d, state, batch = _setup(**{'train.weight_clip': 0.01, 'loss.name': 'wasserstein', 'train.d_lr': 0.1})
    new, _ = make_train_step(c, g, d)(state, batch)
    leaves = jax.tree.leaves(new.d_params)
    assert max(float(jnp.max(jnp.abs(l))) for l in leaves) <= 0.01 + 1e-7
    # lr 0.1 pushes weights far past the limit: they must sit on it, not be zeroed
    np.testing.assert_allclose(max(float(jnp.max(jnp.abs(l))) for l in leaves), 0.01, rtol=1e-6)


def test_same_seed_is_bit_identical_and_seeds_differ():
    outs = []
    for seed in (0, 0, 1):
        c = tiny_config(seed=seed)
        g, d = models.get_models(c.model, (2,))
        src = data.get_source(c.data, seed)
        state = create_state(c, g, d, src.example_shape)
        step = jit_train_step(c, g, d)
        it = src.iterate(c.train.batch_size)
        for _ in range(5):
            state, _ = step(state, next(it))
        outs.append(np.concatenate([np.ravel(l) for l in jax.tree.leaves(state.g_params)]))
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_state_is_immutable():
    c, g, d, state, batch = _setup()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.step = 5
    before = jax.tree.map(np.array, state)
    new, _ = make_train_step(c, g, d)(state, batch)  # un-jitted: nothing donated
    assert isinstance(new, GANState) and new is not state
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.array, state), before)


def test_nonfinite_update_is_skipped_and_counted():
    c, g, d, state, batch = _setup()
    bad = {'x': batch['x'].at[0, 0].set(jnp.nan)}
    new, metrics = make_train_step(c, g, d)(state, bad)
    assert float(metrics['nonfinite']) >= 1
    jax.tree.map(np.testing.assert_array_equal, new.d_params, state.d_params)
