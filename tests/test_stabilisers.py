"""Each stabiliser (ganjax/stabilisers.py, ganjax/augment.py, ganjax/models/stabilisers.py,
ganjax/models/projected.py) against an independent computation: numpy, hand values, a naive loop."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import augment, games, stabilisers
from ganjax.errors import ConfigError
from ganjax.games.core import Context
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator
from ganjax.models.stabilisers import MinibatchDiscrimination, VirtualBatchNorm, minibatch_similarity
from tests.conftest import tiny_config

RNG = np.random.default_rng(0)


def _setup(spec=(2,), **overrides):
    config = tiny_config(**overrides)
    game, optimizers, state, step = games.setup(config, games.DataSpec(spec))
    return config, game, optimizers, state, jax.jit(step)


def _context(game, optimizers, state, batch, key, axis_name=None):
    return Context(game.networks, state.collections, state.extra, optimizers, state.opt_states, batch, key,
                   state.step, state.step, axis_name)


# -- feature matching, mode seeking, bCR -------------------------------------------------------------

def test_feature_matching_against_numpy():
    fr, ff = RNG.normal(size=(6, 5)), RNG.normal(size=(6, 5))
    expected = np.sum((fr.mean(0) - ff.mean(0)) ** 2)
    np.testing.assert_allclose(stabilisers.feature_matching(jnp.asarray(fr), jnp.asarray(ff)), expected, rtol=1e-5)


def test_feature_matching_in_the_generator_loss():
    """The G update's loss is the adversarial loss plus w * ||E f(x) - E f(G(z))||^2 on D's features head."""
    config, game, opts, state, _ = _setup(**{'stabilise.feature_matching': 2.0})
    x = jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32)
    key = jax.random.PRNGKey(3)
    ctx = _context(game, opts, state, {'x': x}, key)
    value, aux = game.updates[1].loss(state.params, ctx)
    z = jax.random.normal(key, (16, 2))
    d = game.networks['D'].module
    fake = game.networks['G'].module.apply({'params': state.params['G']}, z)
    out_r = d.apply({'params': state.params['D']}, x)
    out_f = d.apply({'params': state.params['D']}, fake)
    fm = np.sum((np.mean(out_r['features'], 0) - np.mean(out_f['features'], 0)) ** 2)
    adv = np.mean(np.log1p(np.exp(-np.asarray(out_f['logits']))))
    np.testing.assert_allclose(aux['metrics']['g_feature_matching'], fm, rtol=1e-5)
    np.testing.assert_allclose(value, adv + 2.0 * fm, rtol=1e-5)


def test_mode_seeking_against_hand_values():
    g1 = jnp.array([[0.0, 1.0], [2.0, 3.0]])
    g2 = jnp.array([[1.0, 1.0], [2.0, 1.0]])  # |g1 - g2| = 1, 0, 0, 2: mean 0.75
    z1, z2 = jnp.array([[0.0], [0.0]]), jnp.array([[1.0], [2.0]])  # mean |z1 - z2| = 1.5
    np.testing.assert_allclose(stabilisers.mode_seeking(g1, g2, z1, z2), 1 / (0.5 + 1e-5), rtol=1e-6)


def test_bcr_consistency_and_transform_against_hand():
    d_x, d_tx = jnp.array([1.0, 2.0, 0.0]), jnp.array([0.0, 2.0, 3.0])
    np.testing.assert_allclose(stabilisers.consistency(d_x, d_tx), (1 + 0 + 9) / 3)
    x = jnp.asarray(RNG.normal(size=(64, 8, 8, 1)), jnp.float32)
    t = np.asarray(stabilisers.bcr_transform(x, jax.random.PRNGKey(0)))
    # every output is x, or its mirror image, shifted by at most one pixel (8 / 8) with zero fill
    for n in range(64):
        candidates = [np.asarray(augment.translate(v[None], jnp.array([dy]), jnp.array([dx])))[0]
                      for v in (x[n], x[n, :, ::-1]) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert any(np.array_equal(t[n], c) for c in candidates)
    assert not np.array_equal(t, np.asarray(x))
    # flip=False: the same translations (same keys), never a mirror image
    t = np.asarray(stabilisers.bcr_transform(x, jax.random.PRNGKey(0), flip=False))
    for n in range(64):
        shifts = [np.asarray(augment.translate(x[n][None], jnp.array([dy]), jnp.array([dx])))[0]
                  for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert any(np.array_equal(t[n], c) for c in shifts)
    assert not np.array_equal(t, np.asarray(x))


@pytest.mark.parametrize('flip', [True, False])
def test_bcr_term_of_the_d_update_against_hand(flip):
    """The D update's consistency term is mean (D(x) - D(T x))^2 over the real and the fake batch, with T
    mirroring only when ``stabilise.consistency_flip`` says so (keys from fold_in(key, 3))."""
    config, game, opts, state, _ = _setup((32, 32, 1), **{'model.name': 'dcgan', 'model.width': 4,
                                                        'model.latent_dim': 4, 'model.g_batch_norm': False,
                                                        'stabilise.consistency': 10.0,
                                                        'stabilise.consistency_flip': flip})
    x = jnp.asarray(np.tanh(RNG.normal(size=(16, 32, 32, 1))), jnp.float32)
    key = jax.random.PRNGKey(3)
    ctx = _context(game, opts, state, {'x': x}, key)
    g, d = game.networks['G'].module, game.networks['D'].module
    dp, k_z = {'params': state.params['D']}, jax.random.split(key)[0]
    k_tr, k_tf = jax.random.split(jax.random.fold_in(key, 3))

    def hand():
        fake = g.apply({'params': state.params['G']}, jax.random.normal(k_z, (16, 4)))
        term = lambda v, k: jnp.mean((d.apply(dp, v)['logits']
                                      - d.apply(dp, stabilisers.bcr_transform(v, k, flip=flip))['logits']) ** 2)
        return term(x, k_tr) + term(fake, k_tf)

    got, want = jax.jit(lambda: (game.updates[0].loss(state.params, ctx)[1]['metrics']['d_consistency'], hand()))()
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_a_config_saved_before_consistency_flip_reads_as_the_paper_transform():
    """Checkpoints keep the config they were trained with: one written before the key existed still loads."""
    c = tiny_config(**{'stabilise.consistency': 10.0})
    with c.unlocked():
        del c.stabilise['consistency_flip']
    assert stabilisers.from_config(c).consistency_flip is True


# -- minibatch discrimination and stddev -------------------------------------------------------------

def test_minibatch_discrimination_against_a_loop_over_pairs():
    layer = MinibatchDiscrimination(kernels=3, kernel_dim=2)
    f = jnp.asarray(RNG.normal(size=(5, 4)), jnp.float32)
    params = layer.init(jax.random.PRNGKey(0), f)
    out = np.asarray(layer.apply(params, f))
    t = np.asarray(params['params']['T']).reshape(4, 3, 2)
    m = np.einsum('na,abc->nbc', np.asarray(f), t)
    o = np.zeros((5, 3))
    for i, j, b in itertools.product(range(5), range(5), range(3)):
        o[i, b] += np.exp(-np.sum(np.abs(m[i, b] - m[j, b])))
    np.testing.assert_allclose(out[:, :4], f)
    np.testing.assert_allclose(out[:, 4:], o, rtol=1e-5)


def test_minibatch_similarity_hand_gradient_against_autodiff_of_the_naive_formula():
    """The hand-written VJP equals autodiff of the (N, N, B, C) broadcast formula in float64, to first and
    second order (unrolled GAN differentiates G through D's gradient)."""
    def naive(m):
        return jnp.sum(jnp.exp(-jnp.sum(jnp.abs(m[:, None] - m[None, :]), axis=-1)), axis=1)

    with jax.enable_x64(True):
        m = jnp.asarray(RNG.normal(size=(6, 3, 4)))  # continuous draws: no two entries tie
        g = jnp.asarray(RNG.normal(size=(6, 3)))
        for f in (minibatch_similarity, naive):
            assert f(m).dtype == jnp.float64
        first = lambda f: jax.grad(lambda m: jnp.sum(g * f(m)))
        second = lambda f: jax.grad(lambda m: jnp.sum(first(f)(m) ** 2))
        np.testing.assert_allclose(minibatch_similarity(m), naive(m), rtol=1e-12)
        np.testing.assert_allclose(first(minibatch_similarity)(m), first(naive)(m), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(second(minibatch_similarity)(m), second(naive)(m), rtol=1e-10, atol=1e-12)


def test_minibatch_stddev_option_of_the_mlp_discriminator():
    """logits = [features, group stddev] @ W + b, the stddev by hand over strided groups of 2."""
    d = MLPDiscriminator(width=4, depth=1, minibatch_stddev=2)
    assert d.cross_example_state
    x = jnp.asarray(RNG.normal(size=(4, 3)), jnp.float32)
    params = d.init(jax.random.PRNGKey(0), x)['params']
    out = d.apply({'params': params}, x)
    h = np.asarray(out['features'])
    groups = [h[[0, 2]], h[[1, 3]]]  # example n is in group n mod (N / G)
    s = [np.mean(np.sqrt(np.var(g, axis=0) + 1e-8)) for g in groups]
    feats = np.concatenate([h, np.array([s[0], s[1], s[0], s[1]])[:, None]], axis=1)
    w, b = np.asarray(params['Dense_1']['kernel']), np.asarray(params['Dense_1']['bias'])
    np.testing.assert_allclose(out['logits'], (feats @ w + b)[:, 0], rtol=1e-5, atol=1e-6)


def test_model_options_are_refused_where_the_model_lacks_them():
    with pytest.raises(ConfigError, match='minibatch_kernels'):
        games.get_game(tiny_config(**{'model.name': 'resnet', 'stabilise.minibatch_kernels': 2}),
                       games.DataSpec((32, 32, 3)))


# -- historical averaging ----------------------------------------------------------------------------

def test_historical_penalty_against_hand_value():
    params = {'a': jnp.array([1.0, 2.0]), 'b': jnp.array(3.0)}
    hist = {'mean': {'a': jnp.array([0.0, 1.0]), 'b': jnp.array(1.0)}, 'count': jnp.array(2)}
    np.testing.assert_allclose(stabilisers.historical_penalty(params, hist), 1 + 1 + 4)
    assert float(stabilisers.historical_penalty(params, {**hist, 'count': jnp.array(0)})) == 0.0


def test_historical_average_in_the_state_is_the_mean_of_the_history():
    config, game, _, state, step = _setup(**{'stabilise.historical_averaging': 0.5})
    x = jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32)
    history = {'D': [], 'G': []}
    for _ in range(3):
        for name in history:  # each network's parameters before its update of this step
            history[name].append(state.params[name])
        state, metrics = step(state, {'x': x})
    for name in ('D', 'G'):
        hist = state.extra[f'history_{name}']
        assert int(hist['count']) == 3
        expected = jax.tree.map(lambda *p: np.mean(np.stack(p), axis=0), *history[name])
        jax.tree.map(lambda a, e: np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7), hist['mean'], expected)
    # the last step's penalty on G: ||theta_2 - mean(theta_0, theta_1)||^2
    mean01 = jax.tree.map(lambda a, b: (np.asarray(a) + np.asarray(b)) / 2, *history['G'][:2])
    hand = sum(np.sum((np.asarray(p) - m) ** 2)
               for p, m in zip(jax.tree.leaves(history['G'][2]), jax.tree.leaves(mean01)))
    np.testing.assert_allclose(metrics['G_historical'], hand, rtol=1e-4)


# -- virtual batch norm ------------------------------------------------------------------------------

def test_virtual_batch_norm_uses_the_reference_statistics():
    x = jnp.asarray(RNG.normal(size=(7, 3)) * 2 + 1, jnp.float32)
    layer = VirtualBatchNorm(reference=4)
    params = layer.init(jax.random.PRNGKey(0), x)
    ref = np.asarray(x[:4])
    expected = (np.asarray(x) - ref.mean(0)) / np.sqrt(ref.var(0) + 1e-5)
    np.testing.assert_allclose(layer.apply(params, x), expected, rtol=1e-5, atol=1e-5)


def test_vbn_generator_reference_is_fixed_in_the_state_and_examples_independent():
    config, game, _, state, step = _setup(**{'stabilise.virtual_batch_norm': 8})
    g = game.networks['G'].module
    ref0 = np.asarray(state.collections['G']['vbn']['reference'])
    assert ref0.shape == (8, 2) and np.abs(ref0).max() > 0
    x = jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32)
    for _ in range(2):
        state, _ = step(state, {'x': x})
    np.testing.assert_array_equal(state.collections['G']['vbn']['reference'], ref0)
    variables = {'params': state.params['G'], **state.collections['G']}
    z = jnp.asarray(RNG.normal(size=(3, 2)), jnp.float32)
    # example 0's sample does not depend on the rest of its batch
    a = g.apply(variables, z, train=False)
    b = g.apply(variables, z.at[1:].set(5.0), train=False)
    np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
    # the first hidden layer, normalised by hand with the reference's statistics
    p0 = state.params['G']
    assert 'bias' not in p0['Dense_0']  # a bias before the normalisation would be removed by it
    pre = lambda v: np.asarray(v) @ np.asarray(p0['Dense_0']['kernel'])
    r, h = pre(ref0), pre(z)
    s, o = np.asarray(p0['VirtualBatchNorm_0']['scale']), np.asarray(p0['VirtualBatchNorm_0']['bias'])
    expected = np.maximum((h - r.mean(0)) / np.sqrt(r.var(0) + 1e-5) * s + o, 0)
    hidden = g.apply(variables, z, train=False, capture_intermediates=True, mutable=['intermediates'])[1]
    got = np.maximum(np.asarray(hidden['intermediates']['VirtualBatchNorm_0']['__call__'][0])[8:], 0)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


# -- unrolled GAN ------------------------------------------------------------------------------------

def test_unrolled_generator_gradient_against_finite_differences_of_a_naive_unroll():
    """Linear G and D (depth 0), SGD: G's gradient through k=2 D steps equals central differences of
    the same unrolled loss written out in numpy (float64)."""
    k, lr = 2, 0.5
    config, game, opts, state, _ = _setup(**{'stabilise.unrolled_steps': k, 'model.depth': 0, 'train.optimizer': 'sgd',
                                             'train.d_lr': lr, 'train.batch_size': 8})
    x = np.asarray(RNG.normal(size=(8, 2)))
    key = jax.random.PRNGKey(5)
    ctx = _context(game, opts, state, {'x': jnp.asarray(x, jnp.float32)}, key)
    grad = jax.grad(lambda g: game.updates[1].loss({**state.params, 'G': g}, ctx)[0])(state.params['G'])
    z = np.asarray(jax.random.normal(key, (8, 2)), np.float64)
    dp = state.params['D']['Dense_0']
    w0, b0 = np.asarray(dp['kernel'], np.float64)[:, 0], float(dp['bias'][0])
    sp = lambda t: np.logaddexp(0, t)
    sig = lambda t: 1 / (1 + np.exp(-t))

    def unrolled_loss(a, c):
        fake = z @ a + c
        w, b = w0.copy(), b0
        for _ in range(k):  # d/dw of mean softplus(-r) + mean softplus(f)
            r, f = x @ w + b, fake @ w + b
            gw = -(sig(-r)[:, None] * x).mean(0) + (sig(f)[:, None] * fake).mean(0)
            gb = -sig(-r).mean() + sig(f).mean()
            w, b = w - lr * gw, b - lr * gb
        return sp(-(fake @ w + b)).mean()

    a0 = np.asarray(state.params['G']['Dense_0']['kernel'], np.float64)
    c0 = np.asarray(state.params['G']['Dense_0']['bias'], np.float64)
    eps, num = 1e-6, np.zeros_like(a0)
    for idx in np.ndindex(a0.shape):
        e = np.zeros_like(a0)
        e[idx] = eps
        num[idx] = (unrolled_loss(a0 + e, c0) - unrolled_loss(a0 - e, c0)) / (2 * eps)
    np.testing.assert_allclose(grad['Dense_0']['kernel'], num, rtol=1e-3, atol=1e-6)
    # and it differs from the gradient without unrolling (the option does something)
    plain = _setup(**{'model.depth': 0, 'train.optimizer': 'sgd', 'train.batch_size': 8})
    g0 = jax.grad(lambda g: plain[1].updates[1].loss({**state.params, 'G': g}, ctx)[0])(state.params['G'])
    assert np.abs(np.asarray(g0['Dense_0']['kernel']) - num).max() > 1e-4


# -- experience replay -------------------------------------------------------------------------------

def test_replay_mixes_stored_samples_at_the_stated_fraction():
    fake = jnp.zeros((20, 2))
    replay = {'buffer': jnp.arange(1, 11, dtype=jnp.float32)[:, None] * jnp.ones((1, 2)), 'written': jnp.array(7)}
    mixed = np.asarray(stabilisers.replay_mix(fake, replay, 0.25, jax.random.PRNGKey(0)))
    replaced = mixed[:, 0] != 0
    assert replaced.sum() == 5  # floor(20 * 0.25)
    np.testing.assert_array_equal(np.flatnonzero(replaced), [3, 7, 11, 15, 19])
    assert set(mixed[replaced, 0]) <= set(range(1, 8))  # only entries written so far (7 of 10)
    # empty buffer: the batch as it is
    empty = stabilisers.replay_init(10, (2,))
    np.testing.assert_array_equal(stabilisers.replay_mix(fake + 1, empty, 0.25, jax.random.PRNGKey(0)), fake + 1)
    # the ring: 7 written, 6 more go to positions 7, 8, 9, 0, 1, 2
    stored = stabilisers.replay_store(replay, -jnp.arange(1, 7, dtype=jnp.float32)[:, None] * jnp.ones((1, 2)))
    np.testing.assert_array_equal(stored['buffer'][:, 0], [-4, -5, -6, 4, 5, 6, 7, -1, -2, -3])
    assert int(stored['written']) == 13


def test_replay_buffer_in_the_game_holds_the_generated_batches():
    config, game, _, state, step = _setup(**{'stabilise.replay_fraction': 0.5, 'stabilise.replay_size': 32,
                                             'train.ema_decay': 0.0})
    x = jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32)
    state, _ = step(state, {'x': x})
    assert int(state.extra['replay']['written']) == 16
    buf = np.asarray(state.extra['replay']['buffer'])
    assert np.abs(buf[:16]).max() > 0 and np.abs(buf[16:]).max() == 0


# -- packing -----------------------------------------------------------------------------------------

def test_packing_equals_concatenation_by_hand():
    x = jnp.asarray(RNG.normal(size=(6, 4, 4, 3)), jnp.float32)
    packed = np.asarray(stabilisers.pack(x, 3))
    hand = np.stack([np.concatenate([x[3 * g], x[3 * g + 1], x[3 * g + 2]], axis=-1) for g in range(2)])
    np.testing.assert_array_equal(packed, hand)
    v = jnp.asarray(RNG.normal(size=(4, 2)), jnp.float32)
    np.testing.assert_array_equal(stabilisers.pack(v, 2), np.stack([np.r_[v[0], v[1]], np.r_[v[2], v[3]]]))
    with pytest.raises(ConfigError):
        stabilisers.pack(v, 3)


def test_packed_discriminator_takes_m_times_the_channels_and_sees_packs():
    config, game, opts, state, _ = _setup(**{'stabilise.pack': 2})
    assert state.params['D']['Dense_0']['kernel'].shape[0] == 4  # 2 examples of 2 features
    x = jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32)
    ctx = _context(game, opts, state, {'x': x}, jax.random.PRNGKey(1))
    _, aux = game.updates[0].loss(state.params, ctx)
    d = game.networks['D'].module
    hand = d.apply({'params': state.params['D']}, jnp.asarray(np.asarray(x).reshape(8, 4)))['logits']
    np.testing.assert_allclose(aux['metrics']['d_real'], np.mean(hand), rtol=1e-5)


# -- DiffAugment -------------------------------------------------------------------------------------

def test_translation_against_hand():
    x = jnp.arange(2 * 3 * 3, dtype=jnp.float32).reshape(2, 3, 3, 1) + 1
    y = np.asarray(augment.translate(x, jnp.array([1, 0]), jnp.array([0, -1])))[..., 0]
    np.testing.assert_array_equal(y[0], [[4, 5, 6], [7, 8, 9], [0, 0, 0]])  # y[i] = x[i + 1]
    np.testing.assert_array_equal(y[1], [[0, 10, 11], [0, 13, 14], [0, 16, 17]])  # y[:, j] = x[:, j - 1]


def test_cutout_against_hand():
    x = jnp.ones((1, 4, 4, 1))
    y = np.asarray(augment.cutout(x, jnp.array([1]), jnp.array([3]), (2, 2)))[0, ..., 0]
    hand = np.ones((4, 4))
    hand[0:2, 2:4] = 0  # rows [1 - 1, 1 - 1 + 2), columns [3 - 1, 3 - 1 + 2)
    np.testing.assert_array_equal(y, hand)


def test_colour_ops_against_hand():
    x = np.asarray(RNG.normal(size=(2, 2, 2, 3)), np.float32)
    u = np.array([0.2, 0.9], np.float32)
    np.testing.assert_allclose(augment.brightness(jnp.asarray(x), jnp.asarray(u)),
                               x + (u - 0.5)[:, None, None, None], rtol=1e-6)
    m = x.mean(axis=3, keepdims=True)
    np.testing.assert_allclose(augment.saturation(jnp.asarray(x), jnp.asarray(u)),
                               (x - m) * (2 * u)[:, None, None, None] + m, rtol=1e-5, atol=1e-6)
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    np.testing.assert_allclose(augment.contrast(jnp.asarray(x), jnp.asarray(u)),
                               (x - m) * (u + 0.5)[:, None, None, None] + m, rtol=1e-5, atol=1e-6)


def test_diffaugment_policy_is_checked():
    with pytest.raises(ConfigError, match='rotate'):
        augment.parse_policy('color,rotate')


def test_diffaugment_same_ops_in_both_updates_and_differentiable():
    """The G update scores D(T(G(z))) with the same DiffAugment as the D update (colour, translation and
    cutout, keys from fold_in(key, 2)), and T passes G's gradient through: the loss by hand matches."""
    config, game, opts, state, _ = _setup((32, 32, 1), **{'model.name': 'dcgan', 'model.width': 4,
                                                        'model.latent_dim': 4, 'model.g_batch_norm': False,
                                                        'stabilise.diffaugment': 'color,translation,cutout'})
    x = jnp.asarray(np.tanh(RNG.normal(size=(16, 32, 32, 1))), jnp.float32)
    key = jax.random.PRNGKey(2)
    ctx = _context(game, opts, state, {'x': x}, key)
    ops = ('color', 'translation', 'cutout')
    g, d = game.networks['G'].module, game.networks['D'].module
    z = jax.random.normal(key, (16, 4))
    k_r, k_f = jax.random.split(jax.random.fold_in(key, 2))

    def hand(gp):
        fake = augment.diffaugment(g.apply({'params': gp}, z), ops, k_f)
        return jnp.mean(jax.nn.softplus(-d.apply({'params': state.params['D']}, fake)['logits']))

    loss = lambda gp: game.updates[1].loss({**state.params, 'G': gp}, ctx)[0]
    (la, ga), (lb, gb) = jax.jit(lambda gp: (jax.value_and_grad(loss)(gp), jax.value_and_grad(hand)(gp)))(
        state.params['G'])
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7), ga, gb)
    # the D update: real and fake both augmented (each with its own draws): d_real by hand
    d_real, hand_real = jax.jit(lambda: (
        game.updates[0].loss(state.params, ctx)[1]['metrics']['d_real'],
        jnp.mean(d.apply({'params': state.params['D']}, augment.diffaugment(x, ops, k_r))['logits'])))()
    np.testing.assert_allclose(d_real, hand_real, rtol=1e-5)


# -- ADA ---------------------------------------------------------------------------------------------

def test_ada_p_update_rule_against_hand():
    """Karras et al. 2020: every N updates, p += sign(mean of E sign D(real) - target) * N * batch / (kimg * 1000)."""
    target, n, batch, kimg = 0.6, 2, 64, 0.5
    delta = n * batch / (kimg * 1000)  # 0.256
    state = stabilisers.ada_init()
    signs = [0.9, 0.7, 0.2, 0.4, 1.0, 0.5, 1.0, 1.0]
    hand_p, ps = 0.0, []
    for i, s in enumerate(signs):
        state = stabilisers.ada_adjust(state, jnp.float32(s), batch, target, n, kimg)
        if i % 2 == 1:
            r = (signs[i - 1] + s) / 2
            hand_p = min(max(hand_p + np.sign(r - target) * delta, 0.0), 1.0)
        ps.append(float(state['p']))
        np.testing.assert_allclose(float(state['p']), hand_p, rtol=1e-6)
    np.testing.assert_allclose(ps, [0, 0.256, 0.256, 0, 0, 0.256, 0.256, 0.512], atol=1e-6)


def test_ada_augments_with_probability_p():
    x = jnp.asarray(RNG.normal(size=(64, 8, 8, 1)), jnp.float32)
    key = jax.random.PRNGKey(0)
    np.testing.assert_array_equal(augment.ada(x, jnp.float32(0.0), key), x)
    changed = np.any(np.asarray(augment.ada(x, jnp.float32(1.0), key)) != np.asarray(x), axis=(1, 2, 3))
    assert changed.all()


def test_ada_p_is_kept_in_the_state_and_moves():
    config, game, _, state, step = _setup((32, 32, 1), **{'model.name': 'dcgan', 'model.width': 4, 'model.latent_dim': 4,
                                                        'stabilise.ada_target': 0.01, 'stabilise.ada_interval': 1,
                                                        'stabilise.ada_kimg': 0.1})
    x = jnp.asarray(np.tanh(RNG.normal(size=(16, 32, 32, 1))), jnp.float32)
    ps = []
    for _ in range(3):
        state, m = step(state, {'x': x})
        ps.append(float(state.extra['ada']['p']))
    # each step moves p by exactly 16 / 100 = 0.16 (clipped at 0): the sign decides the direction
    assert all(abs(abs(b - a) - 0.16) < 1e-6 or (a == 0 and b == 0) for a, b in zip([0.0] + ps, ps))


# -- Projected GAN -----------------------------------------------------------------------------------

def test_projected_discriminator_frozen_features_and_projections(monkeypatch):
    from ganjax.models import projected
    monkeypatch.setattr(projected, 'INPUT_SIZE', 32)  # the stem's maps 13x13 and 4x4: a faster test
    config, game, opts, state, step = _setup((32, 32, 1), **{'model.name': 'projected', 'model.width': 4,
                                                             'model.latent_dim': 4,
                                                             'stabilise.projected_features': 'random'})
    frozen0 = jax.tree.map(np.asarray, state.collections['D']['frozen'])
    assert set(frozen0) == {'stem', 'projection_0', 'projection_1'}
    assert not any('stem' in k or 'projection' in k for k in state.params['D'])  # nothing frozen is trained
    x = jnp.asarray(np.tanh(RNG.normal(size=(16, 32, 32, 1))), jnp.float32)
    d = game.networks['D'].module
    variables = {'params': state.params['D'], **state.collections['D']}
    grad = jax.jit(jax.grad(lambda fr: jnp.sum(d.apply({**variables, 'frozen': fr}, x, train=False)['logits'])))(
        state.collections['D']['frozen'])
    assert all(np.all(np.asarray(g) == 0) for g in jax.tree.leaves(grad))
    p0 = state.params['D']
    for _ in range(2):
        state, _ = step(state, {'x': x})
    jax.tree.map(np.testing.assert_array_equal, state.collections['D']['frozen'], frozen0)
    assert any(np.abs(np.asarray(a) - np.asarray(b)).max() > 0
               for a, b in zip(jax.tree.leaves(state.params['D']), jax.tree.leaves(p0)))  # the heads train


def test_bad_settings_are_config_errors():
    for overrides in ({'stabilise.pack': 0}, {'stabilise.replay_fraction': 0.5},
                      {'stabilise.diffaugment': 'color', 'stabilise.ada_target': 0.6},
                      {'stabilise.consistency': 10.0}):  # bCR on 2-D vectors
        with pytest.raises(ConfigError):
            games.get_game(tiny_config(**overrides), games.DataSpec((2,)))


def test_stabiliser_state_survives_a_checkpoint_round_trip_bit_identically():
    """Replay buffer, historical means and the VBN reference are in the state: a run packed and unpacked
    (ganjax.checkpoint's layout) after 2 steps continues exactly as the uninterrupted run."""
    from ganjax import checkpoint

    config, game, _, state0, step = _setup(**{'stabilise.replay_fraction': 0.5, 'stabilise.replay_size': 24,
                                              'stabilise.historical_averaging': 0.1,
                                              'stabilise.virtual_batch_norm': 4})
    xs = [jnp.asarray(RNG.normal(size=(16, 2)), jnp.float32) for _ in range(4)]
    straight = state0
    for x in xs:
        straight, _ = step(straight, {'x': x})
    resumed = state0
    for x in xs[:2]:
        resumed, _ = step(resumed, {'x': x})
    packed = {k: np.asarray(v) for k, v in checkpoint.pack(resumed, game.sampler).items()}
    resumed = checkpoint.unpack(packed, state0, game.sampler)
    for x in xs[2:]:
        resumed, _ = step(resumed, {'x': x})
    assert int(straight.extra['replay']['written']) == 64
    jax.tree.map(np.testing.assert_array_equal, resumed, straight)
