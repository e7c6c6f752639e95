"""StyleGAN2's maths against independent truths: demodulation's unit variance, the two modulated-conv
forms against a per-example loop, equalised learning rate's He constant, the path-length penalty of a
linear generator in closed form, style mixing's cut-off from the key, and the game's lazy schedule and
bit-identical resume inside a lazy-regularisation interval."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from ganjax import games
from ganjax.games.stylegan2 import path_length_penalty, path_lengths
from ganjax.models.style import EqConv, EqDense, he_scale, mix_styles, mixing_cutoff, modulated_conv
from ganjax.models.stylegan2 import StyleGAN2Generator
from tests.conftest import tiny_config
from tests.test_checkpoint import assert_trees_equal

DN = ('NHWC', 'HWIO', 'NHWC')


def naive_modconv(x, weight, styles, demodulate):
    """Per example: build its weights with explicit loops over output channels, then a plain conv."""
    out = []
    for n in range(x.shape[0]):
        w = np.asarray(weight) * np.asarray(styles[n])[None, None, :, None]
        if demodulate:
            for o in range(w.shape[-1]):
                w[..., o] /= math.sqrt(np.sum(w[..., o] ** 2) + 1e-8)
        out.append(lax.conv_general_dilated(x[n:n + 1], jnp.asarray(w), (1, 1), 'SAME', dimension_numbers=DN))
    return np.concatenate(out)


@pytest.mark.parametrize('demodulate', [True, False])
def test_both_modconv_forms_match_a_per_example_loop(demodulate):
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(k[0], (3, 6, 6, 5))
    weight = jax.random.normal(k[1], (3, 3, 5, 4))
    styles = jnp.exp(0.5 * jax.random.normal(k[2], (3, 5)))
    want = naive_modconv(x, weight, styles, demodulate)
    for form in ('grouped', 'fused'):
        for impl in ('xla', 'slices'):
            got = modulated_conv(x, weight, styles, demodulate=demodulate, form=form, impl=impl)
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4, err_msg=f'{form}/{impl}')


def test_demodulation_gives_unit_variance_for_unit_variance_inputs():
    """Each output is sum_{k,i} W''[k,i,o] x[k,i] with sum W''^2 = 1, so for i.i.d. N(0, 1) inputs its
    variance is 1. At the centre of a 3x3 input (no padding reached) over n independent examples, the
    sample variance of each channel has standard error sqrt(2 / (n - 1)); allow 5 of them."""
    n, cin, cout = 4096, 8, 6
    k = jax.random.split(jax.random.PRNGKey(1), 3)
    x = jax.random.normal(k[0], (n, 3, 3, cin))
    weight = jax.random.normal(k[1], (3, 3, cin, cout))
    styles = jnp.exp(jax.random.normal(k[2], (n, cin)))  # widely varying per-example styles
    tol = 5 * math.sqrt(2 / (n - 1))
    for form in ('grouped', 'fused'):
        y = modulated_conv(x, weight, styles, demodulate=True, form=form)[:, 1, 1, :]
        np.testing.assert_allclose(np.var(np.asarray(y), axis=0), 1.0, atol=tol)
    y = modulated_conv(x, weight, styles, demodulate=False, form='fused')[:, 1, 1, :]
    assert np.all(np.abs(np.var(np.asarray(y), axis=0) - 1.0) > tol)  # the test can fail without demod


def test_equalised_learning_rate_scales_by_he_constant():
    assert he_scale(72, math.sqrt(2)) == pytest.approx(math.sqrt(2 / 72))
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 5, 8))
    layer = EqConv(4, 3, gain=math.sqrt(2), impl='xla')
    params = layer.init(jax.random.PRNGKey(1), x)['params']
    stored = np.asarray(params['kernel'])
    assert abs(stored.std() - 1.0) < 0.15  # stored weights are N(0, 1): the scale is applied at run time
    want = lax.conv_general_dilated(x, jnp.asarray(stored) * math.sqrt(2 / (3 * 3 * 8)), (1, 1), 'SAME',
                                    dimension_numbers=DN)
    np.testing.assert_allclose(np.asarray(layer.apply({'params': params}, x)), np.asarray(want), rtol=1e-5, atol=1e-5)
    dense = EqDense(3, lr_mul=0.01)
    v = jax.random.normal(jax.random.PRNGKey(2), (4, 50))
    p = dense.init(jax.random.PRNGKey(3), v)['params']
    assert abs(np.asarray(p['kernel']).std() - 100.0) < 15  # N(0, 1 / lr_mul^2) stored ...
    np.testing.assert_allclose(np.asarray(dense.apply({'params': p}, v)),  # ... times lr_mul / sqrt(fan_in)
                               np.asarray(v @ p['kernel'] * 0.01 / math.sqrt(50)), rtol=1e-5, atol=1e-5)


def test_path_length_penalty_of_a_linear_generator_in_closed_form():
    """For images = sum_l A_l w_l the Jacobian is constant: J_l^T y = A_l^T y exactly, whatever ws."""
    n, num_ws, w_dim, pixels = 5, 3, 4, 12
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    a = np.asarray(jax.random.normal(k[0], (num_ws, w_dim, pixels)))
    ws = jax.random.normal(k[1], (n, num_ws, w_dim))
    y = np.asarray(jax.random.normal(k[2], (n, 3, 4))) / math.sqrt(pixels)
    synth = lambda v: jnp.einsum('nlw,lwp->np', v, jnp.asarray(a)).reshape(-1, 3, 4)
    lengths = np.asarray(path_lengths(synth, ws, jnp.asarray(y)))
    want = np.array([math.sqrt(np.mean([np.sum((a[l] @ y[i].ravel()) ** 2) for l in range(num_ws)]))
                     for i in range(n)])
    np.testing.assert_allclose(lengths, want, rtol=1e-5)
    pen, new_mean = path_length_penalty(jnp.asarray(lengths), jnp.float32(0.5), 0.01)
    a_new = 0.5 + 0.01 * (want.mean() - 0.5)
    assert float(new_mean) == pytest.approx(a_new, rel=1e-5)
    assert float(pen) == pytest.approx(np.mean((want - a_new) ** 2), rel=1e-4)


def test_style_mixing_cutoff_comes_from_the_key_and_splits_the_layers():
    num_ws = 8
    cut = jax.jit(lambda key: mixing_cutoff(key, num_ws, 1.0))
    keys = [jax.random.PRNGKey(i) for i in range(40)]
    cuts = [int(cut(k)) for k in keys]
    assert cuts == [int(cut(k)) for k in keys]  # same key, same cut-off
    assert len(set(cuts)) > 3 and set(cuts) <= set(range(1, num_ws))  # different keys, different cut-offs
    assert cut._cache_size() == 1  # one compiled program for every cut-off
    assert {int(mixing_cutoff(k, num_ws, 0.0)) for k in keys} == {num_ws}  # no mixing: every layer w1
    G = StyleGAN2Generator((8, 8, 1), width=4, w_dim=6, mapping_layers=2)
    z1, z2 = jax.random.normal(keys[0], (2, 5)), jax.random.normal(keys[1], (2, 5))
    v = G.init(keys[2], z1, train=False)
    w1 = G.apply(v, z1, method='styles', train=False)[:, 0]
    w2 = G.apply(v, z2, method='styles', train=False)[:, 0]
    assert not np.allclose(w1, w2)
    ws = G.apply(v, z1, method='styles', train=False, z2=z2, cutoff=jnp.int32(3))
    np.testing.assert_array_equal(np.asarray(ws[:, :3]), np.broadcast_to(np.asarray(w1)[:, None], (2, 3, 6)))
    np.testing.assert_array_equal(np.asarray(ws[:, 3:]), np.broadcast_to(np.asarray(w2)[:, None], (2, G.num_ws - 3, 6)))
    np.testing.assert_array_equal(np.asarray(mix_styles(w1, w2, 4, 0)), np.broadcast_to(np.asarray(w2)[:, None], (2, 4, 6)))


TINY = {'game.name': 'stylegan2', 'model.latent_dim': 4, 'model.width': 4, 'style.w_dim': 4,
        'style.mapping_layers': 1, 'train.batch_size': 4, 'style.r1_every': 4, 'style.pl_every': 3,
        'style.mbstd_group': 2, 'train.g_lr': 2e-3, 'train.d_lr': 2e-3}


@pytest.fixture(scope='module')
def tiny_game():
    """``(config, game, initial state, jitted step)`` of an 8x8 StyleGAN2, compiled once for the module."""
    c = tiny_config(**TINY)
    game, _, state, step = games.setup(c, games.DataSpec((8, 8, 1)))
    return c, game, jax.device_put(state, jax.devices()[0]), jax.jit(step)


def batch(t: int) -> dict:
    """Step ``t``'s batch: a pure function of ``t``, as the data pipeline's are of ``(seed, step)``."""
    return {'x': jax.random.uniform(jax.random.PRNGKey(t), (4, 8, 8, 1), minval=-1, maxval=1)}


def test_lazy_regularisers_run_on_their_intervals_and_move_the_state(tiny_game):
    _, _, state, step = tiny_game
    w_avg0 = np.asarray(state.collections['G']['style']['mapping']['w_avg'])
    seen = []
    for t in range(7):
        before = float(state.extra['pl_mean'])
        state, m = step(state, batch(t))
        seen.append((float(m['r1']) != 0, float(m['pl_penalty']) != 0, float(state.extra['pl_mean']) != before))
    assert [s[0] for s in seen] == [t % 4 == 0 for t in range(7)]
    assert [s[1] for s in seen] == [s[2] for s in seen] == [t % 3 == 0 for t in range(7)]
    assert not np.allclose(np.asarray(state.collections['G']['style']['mapping']['w_avg']), w_avg0)


def test_resume_inside_a_lazy_interval_is_bit_identical(tiny_game, tmp_path):
    """Saved at step 5 (inside both R1's 4-step and path length's 3-step intervals), restored from disk
    into a fresh state and run on, the run ends exactly where an uninterrupted one does: parameters,
    optimiser states, pl_mean, w_avg and the EMA. (Killing the process itself is tests/test_checkpoint.py's
    business; this checks that everything StyleGAN2 carries is in the checkpointed state.)"""
    from ganjax.checkpoint import Checkpoints

    config, game, state0, step = tiny_game
    whole = state0
    for t in range(9):
        whole, _ = step(whole, batch(t))
    part = state0
    for t in range(5):
        part, _ = step(part, batch(t))
    with Checkpoints(tmp_path, config, (8, 8, 1), 0, sampler=game.sampler) as ckpt:
        ckpt.save(5, part)
    with Checkpoints(tmp_path, config, (8, 8, 1), 0, sampler=game.sampler) as ckpt:
        restored = ckpt.restore_latest(games.setup(config, games.DataSpec((8, 8, 1)))[2])
    assert restored.step == 5 and float(restored.state.extra['pl_mean']) != 0.0
    resumed = jax.device_put(restored.state, jax.devices()[0])  # placed as the fixture's: one compile
    for t in range(5, 9):
        resumed, _ = step(resumed, batch(t))
    assert_trees_equal(resumed, whole)
    assert step._cache_size() == 1
