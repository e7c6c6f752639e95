"""The step engine runs games of every shape the GAN family needs, each checked against a reference
step written independently with jax.grad and optax (no ganjax step code), on the toy ring.

The games (tests/games/) are shaped like InfoGAN (a third network trained by two updates), StyleGAN2's
path-length regulariser (a lazy update with a running mean in the extra state), CycleGAN (four networks,
one update training two at once) and unrolled GAN (a loss differentiated through optimiser steps).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ganjax import games
from ganjax.data.toy import ToySource
from ganjax.errors import ConfigError
from ganjax.state import split_variables
from tests.conftest import tiny_config
from tests.games import cycle_like, infogan_like, path_length_like, unrolled_like

softplus = jax.nn.softplus
LATENT = 3


def _setup(module, **overrides):
    c = tiny_config(**{'game.name': f'tests.games.{module.__name__.rsplit(".", 1)[1]}',
                       'model.latent_dim': LATENT, 'train.ema_decay': 0.9, **overrides})
    src = ToySource(c.data, c.seed)
    game, optimizers, state, step = games.setup(c, games.DataSpec(src.example_shape))
    batch = next(src.iterate(c.train.batch_size))
    return c, game, state, jax.jit(step), jnp.asarray(batch['x'])


def _adam(c, lr):  # the optimiser written out independently of ganjax.state.make_optimizers
    return optax.adam(lr, b1=c.train.b1, b2=c.train.b2)


def _apply(game, name):
    module = game.networks[name].module
    return lambda p, x: module.apply({'params': p}, x)


def _step_keys(state, n):
    return jax.random.split(jax.random.fold_in(state.rng, state.step), n)


def _sgd_step(tx, grads, params, opt, names):
    """Apply ``tx`` to each named network (the reference's own optimiser bookkeeping)."""
    params, opt = dict(params), dict(opt)
    for n in names:
        upd, opt[n] = tx[n].update(grads[n], opt[n], params[n])
        params[n] = optax.apply_updates(params[n], upd)
    return params, opt


def _assert_close(ours, ref, what):
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=3e-5, atol=3e-6, err_msg=what), ours, ref)


def _ema_ok(c, state, new):
    for name, avg in state.ema.items():
        _assert_close(new.ema[name], jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, avg, new.params[name]),
                      f'EMA of {name}')


def test_infogan_like_third_network_trained_by_two_updates():
    c, game, state, step, x = _setup(infogan_like)
    G, D, Q = (_apply(game, n) for n in 'GDQ')
    tx = {'G': _adam(c, c.train.g_lr), 'D': _adam(c, c.train.d_lr), 'Q': _adam(c, c.train.g_lr)}
    n, K = x.shape[0], infogan_like.K
    ce = lambda logits, code: jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, code))

    def inputs(key):
        kz, kc = jax.random.split(key)
        code = jax.random.randint(kc, (n,), 0, K)
        return jnp.concatenate([jax.random.normal(kz, (n, LATENT)), jax.nn.one_hot(code, K)], axis=1), code

    k_d, k_g = _step_keys(state, 2)
    p, o = state.params, state.opt_states
    z, code = inputs(k_d)
    fake = G(p['G'], z)
    d_obj = lambda q: (jnp.mean(softplus(-D(q['D'], x)['logits'])) + jnp.mean(softplus(D(q['D'], fake)['logits']))
                       + ce(Q(q['Q'], fake), code))
    p, o = _sgd_step(tx, jax.grad(d_obj)({'D': p['D'], 'Q': p['Q']}), p, o, 'DQ')
    z, code = inputs(k_g)
    g_obj = lambda q: (jnp.mean(softplus(-D(p['D'], G(q['G'], z))['logits'])) + ce(Q(q['Q'], G(q['G'], z)), code))
    p, o = _sgd_step(tx, jax.grad(g_obj)({'G': p['G'], 'Q': p['Q']}), p, o, 'GQ')

    new, metrics = step(state, {'x': x})
    _assert_close(new.params, p, 'params')
    _assert_close(new.opt_states, o, 'optimiser states')
    assert int(new.opt_states['Q'][0].count) == 2  # Q's one Adam state took both updates' steps
    _ema_ok(c, state, new)
    assert set(metrics) == {'d_loss', 'd_info', 'g_loss', 'g_info', 'nonfinite'} and float(metrics['nonfinite']) == 0


def test_path_length_like_lazy_regulariser_with_running_mean():
    c, game, state, step, x = _setup(path_length_like)
    G, D = _apply(game, 'G'), _apply(game, 'D')
    tx = {'G': _adam(c, c.train.g_lr), 'D': _adam(c, c.train.d_lr)}
    n, every = x.shape[0], path_length_like.EVERY

    def reference(state):
        k_d, k_g, k_reg = _step_keys(state, 3)
        p, o, avg = state.params, state.opt_states, state.extra['pl_mean']
        fake = G(p['G'], jax.random.normal(k_d, (n, LATENT)))
        d_obj = lambda q: jnp.mean(softplus(-D(q['D'], x)['logits'])) + jnp.mean(softplus(D(q['D'], fake)['logits']))
        p, o = _sgd_step(tx, jax.grad(d_obj)({'D': p['D']}), p, o, 'D')
        z = jax.random.normal(k_g, (n, LATENT))
        g_obj = lambda q: jnp.mean(softplus(-D(p['D'], G(q['G'], z))['logits']))
        p, o = _sgd_step(tx, jax.grad(g_obj)({'G': p['G']}), p, o, 'G')
        if int(state.step) % every == 0:
            k_z, k_y = jax.random.split(k_reg)
            z, y = jax.random.normal(k_z, (n, LATENT)), jax.random.normal(k_y, (n, 2))

            def lengths(g):  # |J_i^T y_i| per example, from the per-example Jacobian
                jac = jax.vmap(jax.jacrev(lambda zi: G(g, zi[None])[0]))(z)  # (n, 2, LATENT)
                return jnp.linalg.norm(jnp.einsum('nd,ndl->nl', y, jac), axis=1)

            avg = avg + path_length_like.DECAY * (jnp.mean(lengths(p['G'])) - avg)
            reg = lambda q: every * path_length_like.WEIGHT * jnp.mean((lengths(q['G']) - avg) ** 2)
            p, o = _sgd_step(tx, jax.grad(reg)({'G': p['G']}), p, o, 'G')
        return p, o, avg

    for expect_reg in (True, False):  # step 0 regularises (scaled by 2), step 1 skips it entirely
        p, o, avg = reference(state)
        new, metrics = step(state, {'x': x})
        _assert_close(new.params, p, 'params')
        _assert_close(new.opt_states, o, 'optimiser states')
        np.testing.assert_allclose(new.extra['pl_mean'], avg, rtol=1e-5)
        assert (float(new.extra['pl_mean']) != float(state.extra['pl_mean'])) == expect_reg
        assert (float(metrics['path_length']) > 0) == expect_reg
        # G's Adam state counts one step per update that ran: two on regularised steps, one otherwise
        assert int(new.opt_states['G'][0].count) - int(state.opt_states['G'][0].count) == 1 + expect_reg
        _ema_ok(c, state, new)
        state = new


def test_cycle_like_four_networks_one_update_trains_two():
    c, game, state, step, x = _setup(cycle_like)
    net = {n: _apply(game, n) for n in ('G_ab', 'G_ba', 'D_a', 'D_b')}
    tx = {n: _adam(c, c.train.g_lr if n.startswith('G') else c.train.d_lr) for n in net}
    a, b = x, x @ jnp.array([[0.0, -2.0], [2.0, 0.0]])
    p, o = state.params, state.opt_states

    def g_obj(q):
        fb, fa = net['G_ab'](q['G_ab'], a), net['G_ba'](q['G_ba'], b)
        adv = jnp.mean((net['D_b'](p['D_b'], fb)['logits'] - 1) ** 2) + jnp.mean((net['D_a'](p['D_a'], fa)['logits'] - 1) ** 2)
        cyc = jnp.mean(jnp.abs(net['G_ba'](q['G_ba'], fb) - a)) + jnp.mean(jnp.abs(net['G_ab'](q['G_ab'], fa) - b))
        return adv + cycle_like.CYCLE_WEIGHT * cyc

    p, o = _sgd_step(tx, jax.grad(g_obj)({'G_ab': p['G_ab'], 'G_ba': p['G_ba']}), p, o, ('G_ab', 'G_ba'))
    fb, fa = net['G_ab'](p['G_ab'], a), net['G_ba'](p['G_ba'], b)  # after the generators' update

    def d_obj(q):
        ls = lambda d, real, fake: 0.5 * (jnp.mean((net[d](q[d], real)['logits'] - 1) ** 2)
                                          + jnp.mean(net[d](q[d], fake)['logits'] ** 2))
        return ls('D_a', a, fa) + ls('D_b', b, fb)

    p, o = _sgd_step(tx, jax.grad(d_obj)({'D_a': p['D_a'], 'D_b': p['D_b']}), p, o, ('D_a', 'D_b'))
    new, metrics = step(state, {'x': x})
    _assert_close(new.params, p, 'params')
    _assert_close(new.opt_states, o, 'optimiser states')
    assert set(new.ema) == {'G_ab', 'G_ba'}
    _ema_ok(c, state, new)


def test_unrolled_like_generator_loss_through_discriminator_optimiser_steps():
    c, game, state, step, x = _setup(unrolled_like)
    G, D = _apply(game, 'G'), _apply(game, 'D')
    tx = {'G': _adam(c, c.train.g_lr), 'D': _adam(c, c.train.d_lr)}
    n = x.shape[0]
    d_obj = lambda d, fake: jnp.mean(softplus(-D(d, x)['logits'])) + jnp.mean(softplus(D(d, fake)['logits']))
    k_d, k_g = _step_keys(state, 2)
    p, o = state.params, state.opt_states
    fake = G(p['G'], jax.random.normal(k_d, (n, LATENT)))
    p, o = _sgd_step(tx, {'D': jax.grad(d_obj)(p['D'], fake)}, p, o, 'D')
    z = jax.random.normal(k_g, (n, LATENT))

    def g_obj(g):
        fake = G(g, z)
        d, d_opt = p['D'], o['D']
        for _ in range(unrolled_like.K):
            upd, d_opt = tx['D'].update(jax.grad(d_obj)(d, fake), d_opt, d)
            d = optax.apply_updates(d, upd)
        return jnp.mean(softplus(-D(d, fake)['logits']))

    g_grad = jax.grad(g_obj)(p['G'])
    # the unrolled steps matter: the gradient through them differs from the plain generator gradient
    plain = jax.grad(lambda g: jnp.mean(softplus(-D(p['D'], G(g, z))['logits'])))(p['G'])
    assert max(float(jnp.max(jnp.abs(a - b))) for a, b in zip(jax.tree.leaves(g_grad), jax.tree.leaves(plain))) > 1e-4
    p, o = _sgd_step(tx, {'G': g_grad}, p, o, 'G')
    new, _ = step(state, {'x': x})
    _assert_close(new.params, p, 'params')
    _assert_close(new.opt_states, o, 'optimiser states')  # D's state advanced once, by its own update


def test_a_nonfinite_update_keeps_every_piece_of_state():
    """A non-finite loss in the lazy regulariser keeps G's params, its Adam state and the running mean."""
    c, game, state, step, x = _setup(path_length_like)
    state = state.replace(extra={'pl_mean': jnp.array(jnp.nan, jnp.float32)})
    new, metrics = step(state, {'x': x})
    assert float(metrics['nonfinite']) == 1
    assert np.isnan(float(new.extra['pl_mean']))  # kept as it was, not overwritten by the failed update
    assert int(new.opt_states['G'][0].count) == 1  # the G update ran; the regulariser's was undone


def test_game_names_resolve_with_clear_errors():
    for name, match in (('nope', "unknown game.name 'nope'; valid: adversarial"),
                        ('tests.games.missing_module', 'cannot import'),
                        ('tests.conftest', 'has no build')):
        with pytest.raises(ConfigError, match=match):
            games.get_game(tiny_config(**{'game.name': name}), games.DataSpec((2,)))


def test_a_game_that_trains_an_unknown_network_is_refused():
    net = games.Network(infogan_like.Net(1), (jnp.zeros((2, 2)),), games.OptimizerSpec(1e-3))
    with pytest.raises(ValueError, match=r"trains \['Q'\]"):
        games.Game({'D': net}, (games.Update('D', ('D', 'Q'), lambda p, ctx: (0.0, {})),))


def test_standing_statistics_belong_to_the_weights_that_sample():
    """A batch-norm generator's statistics re-estimated for given weights match their closed form: the
    first layer is z @ W (z ~ N(0, I), no bias), so channel c's variance is the mean over positions p of
    |W[:, p, c]|^2 and its mean is 0, whatever statistics the collections held before."""
    c = tiny_config(**{'model.name': 'dcgan', 'model.width': 8, 'model.latent_dim': 16})
    game = games.get_game(c, games.DataSpec((28, 28, 1)))
    G = game.networks['G']
    params, cols = split_variables(G.module.init(jax.random.PRNGKey(3), *G.init_args, train=False))
    stale = jax.tree.map(lambda a: a + 5.0, cols)  # statistics of some other weights
    fresh = games.standing_collections(game, params, stale)
    w = np.asarray(params['Dense_0']['kernel'], np.float64).reshape(16, 7 * 7, 16)  # (latent, position, channel)
    bn = fresh['batch_stats']['BatchNorm_0']
    np.testing.assert_allclose(bn['var'], np.mean(np.sum(w**2, axis=0), axis=0), rtol=0.1)
    assert float(jnp.max(jnp.abs(bn['mean']))) < 0.1 * float(jnp.sqrt(jnp.max(bn['var'])))
    # deterministic (a fixed key), and a network without cross-example state is left alone
    jax.tree.map(np.testing.assert_array_equal, games.standing_collections(game, params, stale), fresh)
    ring = games.get_game(tiny_config(), games.DataSpec((2,)))
    assert games.standing_collections(ring, None, {'x': 1}) == {'x': 1}
