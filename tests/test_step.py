"""The train step against a reference written out by hand with jax.grad and optax, and its invariants."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganjax import data, games
from ganjax.state import GANState
from ganjax.step import jit_train_step
from tests.conftest import tiny_config

softplus = jax.nn.softplus


def _setup(**overrides):
    """``(config, game, optimizers, state, step, batch)`` of the tiny config with ``overrides``."""
    c = tiny_config(**overrides)
    src = data.get_source(c.data, c.seed)
    game, optimizers, state, step = games.setup(c, games.DataSpec(src.example_shape))
    batch = next(src.iterate(c.train.batch_size * c.train.d_steps))
    return c, game, optimizers, state, step, {'x': jnp.asarray(batch['x'])}


def _reference_step(c, game, optimizers, state, x):
    """Non-saturating loss + R1, d_steps critic updates then one G update, written independently."""
    g_tx, d_tx = optimizers['G'], optimizers['D']
    g, d = game.networks['G'].module, game.networks['D'].module
    k = c.train.d_steps
    n = x.shape[0] // k
    key = jax.random.fold_in(state.rng, state.step)
    k_critic, k_gen = jax.random.split(key)
    critic_keys = jax.random.split(k_critic, k)
    G = lambda p, z: g.apply({'params': p}, z, None, train=True)
    D = lambda p, v: d.apply({'params': p}, v, None, train=True)['logits']
    d_params, d_opt = state.params['D'], state.opt_states['D']
    for i in range(k):
        real = x[i::k]  # example j * k + i
        k_z, _ = jax.random.split(critic_keys[i])
        fake = G(state.params['G'], jax.random.normal(k_z, (n, c.model.latent_dim)))

        def d_loss(p):
            adv = jnp.mean(softplus(-D(p, real))) + jnp.mean(softplus(D(p, fake)))
            grad_x = jax.vmap(jax.grad(lambda v: D(p, v[None])[0]))(real)
            return adv + c.penalty.weight * 0.5 * jnp.mean(jnp.sum(grad_x**2, axis=1))

        grads = jax.grad(d_loss)(d_params)
        upd, d_opt = d_tx.update(grads, d_opt, d_params)
        d_params = optax.apply_updates(d_params, upd)
    z = jax.random.normal(k_gen, (n, c.model.latent_dim))
    g_grads = jax.grad(lambda p: jnp.mean(softplus(-D(d_params, G(p, z)))))(state.params['G'])
    upd, _ = g_tx.update(g_grads, state.opt_states['G'], state.params['G'])
    return d_params, optax.apply_updates(state.params['G'], upd)


@pytest.mark.parametrize('loop', ['unroll', 'scan'])
def test_step_matches_reference(loop):
    c, game, optimizers, state, step, batch = _setup(**{'penalty.name': 'r1', 'penalty.weight': 2.0,
                                                        'train.d_steps': 2, 'train.critic_loop': loop})
    d_ref, g_ref = _reference_step(c, game, optimizers, state, batch['x'])
    new, metrics = step(state, batch)
    for ours, ref in ((new.params['D'], d_ref), (new.params['G'], g_ref)):
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6), ours, ref)
    assert int(new.step) == 1 and float(metrics['nonfinite']) == 0


def test_updates_touch_only_their_own_network():
    for moved, still, lr in (('D', 'G', 'train.g_lr'), ('G', 'D', 'train.d_lr')):
        *_, state, step, batch = _setup(**{lr: 1e-30})  # `still` barely moves: `moved` must still move
        new, _ = step(state, batch)
        assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, new.params[moved], state.params[moved])))
        # the update must have used the network's own (tiny) rate: a change far below float32 spacing
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-20),
                     new.params[still], state.params[still])


def test_ema_update():
    *_, state, step, batch = _setup(**{'train.ema_decay': 0.9})
    new, _ = step(state, batch)
    assert set(new.ema) == {'G'}  # only the network the game samples with keeps an average
    expected = jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, state.ema['G'], new.params['G'])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), new.ema['G'], expected)


def test_lazy_regularisation():
    *_, state, step, batch = _setup(**{'penalty.name': 'r1', 'penalty.every': 3, 'train.d_steps': 1})
    step = jax.jit(step)
    *_, eager, _ = _setup(**{'penalty.name': 'r1', 'penalty.every': 1, 'train.d_steps': 1})
    eager = jax.jit(eager)
    for i in range(4):
        _, m_lazy = step(state, batch)
        _, m_full = eager(state, batch)
        expected = 3 * float(m_full['penalty']) if i % 3 == 0 else 0.0
        np.testing.assert_allclose(float(m_lazy['penalty']), expected, rtol=1e-5)
        state = state.replace(step=state.step + 1)


def test_weight_clipping_keeps_discriminator_in_range():
    *_, state, step, batch = _setup(**{'train.weight_clip': 0.01, 'loss.name': 'wasserstein',
                                       'train.d_lr': 0.1})
    new, _ = step(state, batch)
    leaves = jax.tree.leaves(new.params['D'])
    assert max(float(jnp.max(jnp.abs(l))) for l in leaves) <= 0.01 + 1e-7
    # lr 0.1 pushes weights far past the limit: they must sit on it, not be zeroed
    np.testing.assert_allclose(max(float(jnp.max(jnp.abs(l))) for l in leaves), 0.01, rtol=1e-6)


def test_same_seed_is_bit_identical_and_seeds_differ():
    outs = []
    for seed in (0, 0, 1):
        c = tiny_config(seed=seed)
        src = data.get_source(c.data, seed)
        game, optimizers, state, _ = games.setup(c, games.DataSpec(src.example_shape))
        step = jit_train_step(game, optimizers, **games.step_options(c))
        it = src.iterate(c.train.batch_size)
        for _ in range(5):
            state, _ = step(state, next(it))
        outs.append(np.concatenate([np.ravel(l) for l in jax.tree.leaves(state.params['G'])]))
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_state_is_immutable():
    *_, state, step, batch = _setup()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.step = 5
    before = jax.tree.map(np.array, state)
    new, _ = step(state, batch)  # un-jitted: nothing donated
    assert isinstance(new, GANState) and new is not state
    jax.tree.map(np.testing.assert_array_equal, jax.tree.map(np.array, state), before)


def test_nonfinite_update_is_skipped_and_counted():
    *_, state, step, batch = _setup()
    bad = {'x': batch['x'].at[0, 0].set(jnp.nan)}
    new, metrics = step(state, bad)
    assert float(metrics['nonfinite']) >= 1
    jax.tree.map(np.testing.assert_array_equal, new.params['D'], state.params['D'])
    jax.tree.map(np.testing.assert_array_equal, new.opt_states['D'], state.opt_states['D'])


def _power_iteration(u, kernel):
    """One step of the power iteration for the largest singular value of ``kernel`` (as a matrix)."""
    w = kernel.reshape(-1, kernel.shape[-1])
    v = u @ w.T
    v = v / np.linalg.norm(v)
    u = v @ w
    return u / np.linalg.norm(u)


def test_spectral_norm_discriminator_with_r1_uses_the_current_power_iteration_state():
    *_, game, _, state, step, batch = _setup(**{'model.d_spectral_norm': True, 'penalty.name': 'r1',
                                                'penalty.weight': 1.0})
    D = game.networks['D'].module
    new, metrics = jax.jit(step)(state, batch)
    before, after = state.collections['D']['spectral'], new.collections['D']['spectral']
    # exactly one power iteration per discriminator update (the penalty's call and the G update's
    # call of D do not advance it), from the weights the update started from
    for i in range(3):
        sn, name = f'SpectralNorm_{i}', f'Dense_{i}/kernel/u'
        expected = _power_iteration(np.asarray(before[sn][name], np.float64), np.asarray(state.params['D'][f'Dense_{i}']['kernel'], np.float64))
        np.testing.assert_allclose(after[sn][name], expected, rtol=2e-5, atol=1e-6)

    # the penalty differentiates D as normalised by the vectors that update's adversarial pass produced
    def r1(cols):
        d = lambda v: D.apply({'params': state.params['D'], **cols}, v, None, train=True)['logits']
        g = jax.vmap(jax.grad(lambda v: d(v[None])[0]))(batch['x'])
        return 0.5 * float(jnp.mean(jnp.sum(g**2, axis=1)))

    np.testing.assert_allclose(float(metrics['penalty']), r1(new.collections['D']), rtol=1e-5)
    assert abs(r1(state.collections['D']) - float(metrics['penalty'])) > 1e-3 * float(metrics['penalty'])


@pytest.mark.parametrize('penalty', ['wgan_gp', 'r1'])
def test_spectral_norm_discriminator_trains_with_a_penalty(penalty):
    *_, state, step, batch = _setup(**{'model.d_spectral_norm': True, 'penalty.name': penalty,
                                       'loss.name': 'wasserstein' if penalty == 'wgan_gp' else 'hinge',
                                       'train.d_steps': 2})
    step = jax.jit(step)
    batch = {'x': jnp.concatenate([batch['x'], batch['x'][::-1]])}  # 2 sub-batches
    first = state
    for _ in range(4):
        old = state.collections['D']['spectral']
        state, metrics = step(state, batch)
        assert float(metrics['nonfinite']) == 0 and float(metrics['penalty']) > 0
        new = state.collections['D']['spectral']
        # the power-iteration state advances every step (a one-unit layer's u is always 1: only its sigma)
        assert all(not np.array_equal(old[sn][k], new[sn][k]) for sn in old for k in old[sn] if new[sn][k].size > 1
                   or k.endswith('sigma'))
    assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, first.params['D'], state.params['D'])))
