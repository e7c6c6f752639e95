"""ProGAN: the growing schedule, the fade-in's two ends against the networks' own stages, one compiled
step for every stage, the drift term, and a bit-identical resume in the middle of a fade-in.
(Minibatch standard deviation's hand computation is tested in tests/test_blocks.py.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import games
from ganjax.models.progan import ProGANDiscriminator, ProGANGenerator, avg_pool, stage_schedule, upsample_nearest
from tests.conftest import tiny_config
from tests.test_checkpoint import assert_trees_equal

TINY = {'game.name': 'progan', 'model.latent_dim': 4, 'model.width': 4, 'train.batch_size': 4,
        'style.stage_steps': 3, 'style.mbstd_group': 2, 'penalty.name': 'wgan_gp', 'train.g_lr': 1e-3,
        'train.d_lr': 1e-3, 'train.b1': 0.0, 'train.b2': 0.99}


def test_schedule_grows_and_fades():
    got = [tuple(map(float, stage_schedule(jnp.int32(t), 2, 3))) for t in range(10)]
    assert got == [(0, 1), (0, 1), (1, 0), (1, 0.5), (1, 1), (1, 1), (2, 0), (2, 0.5), (2, 1), (2, 1)]


def test_fade_in_blends_the_previous_stage_and_the_new_block():
    """At alpha = 0 a stage's output is the previous stage's (upsampled), at alpha = 1 its own block's."""
    G = ProGANGenerator((16, 16, 1), width=4)
    z = jax.random.normal(jax.random.PRNGKey(0), (2, 4))
    v = G.init(jax.random.PRNGKey(1), z, train=False)
    prev = G.apply(v, z, stage=1)
    np.testing.assert_allclose(np.asarray(G.apply(v, z, stage=2, alpha=0.0)), np.asarray(prev), atol=1e-6)
    new = G.apply(v, z, stage=2, alpha=1.0)
    half = G.apply(v, z, stage=2, alpha=0.5)
    np.testing.assert_allclose(np.asarray(half), 0.5 * np.asarray(prev) + 0.5 * np.asarray(new), atol=1e-5)
    # stage 1 images are 8x8 upsampled: constant 2x2 blocks
    np.testing.assert_array_equal(np.asarray(prev)[:, ::2, ::2], np.asarray(prev)[:, 1::2, 1::2])
    D = ProGANDiscriminator((16, 16, 1), width=4, mbstd_group=2)
    x = jax.random.normal(jax.random.PRNGKey(2), (2, 16, 16, 1))
    dv = D.init(jax.random.PRNGKey(3), x)
    # the discriminator's stage s sees the input pooled to its resolution: pooling then upsampling is a no-op
    small = upsample_nearest(avg_pool(x, 2), 2)
    np.testing.assert_allclose(np.asarray(D.apply(dv, small, stage=1)['logits']),
                               np.asarray(D.apply(dv, x, stage=1)['logits']), atol=1e-5)


@pytest.fixture(scope='module')
def tiny_game():
    c = tiny_config(**TINY)
    game, _, state, step = games.setup(c, games.DataSpec((8, 8, 1)))
    return c, game, jax.device_put(state, jax.devices()[0]), jax.jit(step)


def batch(t: int) -> dict:
    return {'x': jax.random.uniform(jax.random.PRNGKey(t), (4, 8, 8, 1), minval=-1, maxval=1)}


def test_resume_in_the_middle_of_a_fade_in_is_bit_identical_and_compiles_once(tiny_game, tmp_path):
    """8x8 = two stages, 3 steps per phase: steps 3-5 fade the 8x8 stage in. Saved after step 4 (alpha
    1/3 in force, 2/3 next), restored from disk into a fresh state and run on to step 7, the run equals an
    uninterrupted one, with one compiled step across both stages."""
    from ganjax.checkpoint import Checkpoints

    config, game, state0, step = tiny_game
    whole, alphas = state0, []
    for t in range(7):
        whole, m = step(whole, batch(t))
        alphas.append((float(m['stage']), float(m['alpha'])))
    want = [(0, 1), (0, 1), (0, 1), (1, 0), (1, 1 / 3), (1, 2 / 3), (1, 1)]
    assert np.allclose(alphas, want, atol=1e-6)
    assert step._cache_size() == 1
    part = state0
    for t in range(5):
        part, _ = step(part, batch(t))
    assert float(part.extra['alpha']) == pytest.approx(1 / 3)
    with Checkpoints(tmp_path, config, (8, 8, 1), 0, sampler=game.sampler) as ckpt:
        ckpt.save(5, part)
    with Checkpoints(tmp_path, config, (8, 8, 1), 0, sampler=game.sampler) as ckpt:
        restored = ckpt.restore_latest(games.setup(config, games.DataSpec((8, 8, 1)))[2])
    assert restored.step == 5 and float(restored.state.extra['alpha']) == pytest.approx(1 / 3)
    resumed = jax.device_put(restored.state, jax.devices()[0])  # placed as the fixture's: one compile
    for t in range(5, 7):
        resumed, _ = step(resumed, batch(t))
    assert_trees_equal(resumed, whole)
    assert step._cache_size() == 1
