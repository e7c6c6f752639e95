"""Image-to-image translation: the PatchGAN's receptive field, CycleGAN's history pool and losses, paired
augmentation, the edge detector, bad two-domain data, and both games through the real train loop."""

import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from ganjax import checkpoint as ckpt_lib
from ganjax import data, games
from ganjax.data.paired import Domains, TranslationSource, edge_map
from ganjax.errors import ConfigError, DataError
from ganjax.games.core import Context
from ganjax.games.cyclegan import cycle_loss, identity_loss, pool_query
from ganjax.models.pix2pix import PatchGAN, UNetGenerator, patch_layers_spec, receptive_field
from ganjax.state import _schedule
from ganjax.train import train_and_evaluate
from tests.conftest import ROOT, tiny_config
from tests.test_checkpoint import assert_trees_equal


# ------------------------------------------------------------------------------------------- PatchGAN

@pytest.mark.parametrize('layers,size', [(1, 32), (2, 48)])
def test_patchgan_receptive_field_is_the_window_one_logit_depends_on(layers, size):
    """d logit[i, j] / d input is nonzero on exactly a stated-size square (no norm: the convolutions
    alone; instance norm's image-wide statistics would touch every pixel)."""
    d = PatchGAN((size, size, 1), width=4, patch_layers=layers, norm='none', conv_impl='xla')
    x = jax.random.normal(jax.random.PRNGKey(0), (1, size, size, 1))
    params = d.init(jax.random.PRNGKey(1), x)
    out = jax.eval_shape(d.apply, params, x)['logits']
    i = out.shape[1] // 2
    grad = jax.jit(jax.grad(lambda x: d.apply(params, x)['logits'][0, i, i, 0]))(x)[0, :, :, 0]
    rows, cols = np.nonzero(np.asarray(grad))
    side = d.receptive_field
    assert side == {1: 16, 2: 34}[layers]
    assert rows.max() - rows.min() + 1 == side and cols.max() - cols.min() + 1 == side
    assert len(rows) == side * side  # every pixel of the window, none outside it


def test_receptive_field_formula_gives_the_papers_70():
    assert receptive_field(patch_layers_spec(3)) == 70
    assert receptive_field([(3, 1), (3, 1)]) == 5  # two 3x3 convs: 5x5


def test_unet_dropout_is_noise_from_the_keys_only():
    g = UNetGenerator((8, 8, 1), width=4, conv_impl='xla')
    a = jax.random.normal(jax.random.PRNGKey(0), (2, 8, 8, 1))
    params = g.init(jax.random.PRNGKey(1), a, None)
    k1, k2 = jax.random.split(jax.random.PRNGKey(2), 2 * 2).reshape(2, 2, 2)
    apply = jax.jit(g.apply)
    y1, y1b, y2 = (apply(params, a, k) for k in (k1, k1, k2))
    np.testing.assert_array_equal(y1, y1b)
    assert not np.allclose(y1, y2)
    # one example's masks depend on its own key only
    mixed = apply(params, a, jnp.stack([k1[0], k2[1]]))
    np.testing.assert_array_equal(mixed[0], y1[0])
    np.testing.assert_array_equal(mixed[1], y2[1])


# --------------------------------------------------------------------------------------- history pool

def test_pool_fills_with_the_new_images_then_keeps_its_size():
    images = jnp.arange(5, dtype=jnp.float32)[:, None, None, None] * jnp.ones((5, 2, 2, 1))
    pool, count = jnp.full((8, 2, 2, 1), -1.0), jnp.zeros((), jnp.int32)
    answers, pool, count = pool_query(pool, count, images, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(answers, images)  # not full: every image answers for itself
    assert int(count) == 5 and pool.shape == (8, 2, 2, 1)
    np.testing.assert_array_equal(pool[:5], images)
    np.testing.assert_array_equal(pool[5:], -1.0)
    answers, pool, count = pool_query(pool, count, images + 10, jax.random.PRNGKey(1))
    assert int(count) == 8 and pool.shape == (8, 2, 2, 1)  # full: 3 stored, and no further growth
    np.testing.assert_array_equal(answers[:3], images[:3] + 10)


def test_full_pool_answers_a_stored_image_half_the_time_and_stores_the_new_one():
    n = 4000
    pool = jnp.arange(8, dtype=jnp.float32)[:, None, None, None] * jnp.ones((8, 1, 1, 1))
    new = jnp.full((1, 1, 1, 1), 100.0)
    keys = jax.random.split(jax.random.PRNGKey(3), n)
    answers, pools, counts = jax.vmap(lambda k: pool_query(pool, jnp.int32(8), new, k))(keys)
    answers, pools = np.asarray(answers)[:, 0, 0, 0, 0], np.asarray(pools)[..., 0, 0, 0]
    stored = answers != 100.0
    # binomial(n, 1/2): 4.5 standard deviations either side
    assert abs(stored.sum() - n / 2) < 4.5 * np.sqrt(n / 4), stored.sum()
    assert np.all(np.asarray(counts) == 8)
    for ans, p, swapped in zip(answers[:200], pools[:200], stored[:200]):
        if swapped:  # the answer was in the pool, and its slot now holds the new image
            slot = int(ans)
            assert p[slot] == 100.0 and np.sum(p == 100.0) == 1 and sorted(p[p != 100.0]) == sorted(set(range(8)) - {slot})
        else:
            np.testing.assert_array_equal(p, np.arange(8))
    slots = np.bincount(answers[stored].astype(int), minlength=8)
    expected = stored.sum() / 8
    assert np.all(np.abs(slots - expected) < 4.5 * np.sqrt(expected)), slots  # uniform slots


def test_pool_of_size_zero_answers_the_new_images():
    images = jnp.ones((3, 2, 2, 1))
    answers, pool, count = pool_query(jnp.zeros((0, 2, 2, 1)), jnp.int32(0), images, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(answers, images)


# ----------------------------------------------------------------------------------- CycleGAN losses

def test_cycle_and_identity_losses_by_hand():
    a = jnp.array([[0.0, 1.0], [2.0, -1.0]])
    rec_a = jnp.array([[0.5, 1.0], [1.0, -1.0]])  # |diff| = .5, 0, 1, 0 -> mean .375
    b = jnp.array([1.0, 1.0, 1.0])
    rec_b = jnp.array([0.0, 3.0, 1.0])  # |diff| = 1, 2, 0 -> mean 1
    assert float(cycle_loss(a, rec_a, b, rec_b, 10.0)) == pytest.approx(13.75)
    assert float(identity_loss(a, rec_a, b, rec_b, 5.0)) == pytest.approx(6.875)


def _tiny(game: str, root, **extra):
    kw = {'data.path': str(root), 'data.pairing': 'paired' if game == 'pix2pix' else 'unpaired',
          'data.prefetch': 0, 'game.name': game, 'model.name': game, 'model.width': 4,
          'model.conv_impl': 'xla', 'train.batch_size': 4, 'train.num_steps': 4, 'train.log_every': 2,
          'train.lr_schedule': 'constant_then_linear', 'train.ema_decay': 0.0,
          'translation.patch_layers': 1, 'translation.resnet_blocks': 1, 'translation.pool_size': 3,
          'checkpoint.every_steps': 2, 'eval.num_samples': 4, **extra}
    return tiny_config(**kw)


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _folders(root, n=8, size=8, channels=(1, 1), sizes=None):
    rng = np.random.default_rng(0)
    for side, ch, s in zip('AB', channels, sizes or (size, size)):
        for i in range(n):
            im = rng.integers(0, 256, (s, s) if ch == 1 else (s, s, ch), dtype=np.uint8)
            _write(root / f'train{side}' / f'{i:03d}.png', im)
    return root


def test_cyclegan_g_loss_metrics_match_the_networks_applied_by_hand(tmp_path):
    config = _tiny('cyclegan', _folders(tmp_path), **{'translation.resnet_blocks': 0})  # less to compile
    source = data.get_source(config.data, 0)
    game, optimizers, state, _ = games.setup(config, games.DataSpec(source.example_shape))
    batch = source.batch(0, 4)
    ctx = Context(game.networks, state.collections, state.extra, optimizers, state.opt_states,
                  {k: jnp.asarray(v) for k, v in batch.items()}, jax.random.PRNGKey(0), state.step, state.step)
    _, aux = jax.jit(lambda p: game.updates[0].loss(p, ctx))(state.params)
    applies = {name: jax.jit(game.networks[name].module.apply) for name in ('G_ab', 'G_ba')}
    g = lambda name, x: np.asarray(applies[name]({'params': state.params[name]}, x))
    a, b = batch['a'], batch['x']
    cycle = 10 * (np.abs(g('G_ba', g('G_ab', a)) - a).mean() + np.abs(g('G_ab', g('G_ba', b)) - b).mean())
    identity = 5 * (np.abs(g('G_ba', a) - a).mean() + np.abs(g('G_ab', b) - b).mean())
    assert float(aux['metrics']['cycle']) == pytest.approx(cycle, rel=1e-5)
    assert float(aux['metrics']['identity']) == pytest.approx(identity, rel=1e-5)
    # the pool received this step's fakes: the first 3 fill its 3 slots and are judged themselves; the
    # 4th finds it full and is judged itself or swapped for a stored one
    fake_b, query = g('G_ab', a), np.asarray(aux['extra']['query_b'])
    np.testing.assert_allclose(query[:3], fake_b[:3], rtol=1e-5, atol=1e-6)
    assert any(np.allclose(query[3], f, rtol=1e-5, atol=1e-6) for f in fake_b)
    assert int(aux['extra']['count_b']) == 3


def test_constant_then_linear_schedule_holds_half_the_run_then_decays_to_zero():
    s = _schedule('constant_then_linear', 2.0, 100)
    assert [float(s(t)) for t in (0, 49, 50, 75, 100)] == pytest.approx([2.0, 2.0, 2.0, 1.0, 0.0])


# --------------------------------------------------------------------------------------------- data

def test_edge_map_marks_both_sides_of_a_step_and_nothing_else():
    im = np.zeros((1, 10, 12, 1), np.uint8)
    im[:, :, 5:] = 200  # a vertical step between columns 4 and 5
    e = edge_map(im)[0, :, :, 0]
    expected = np.zeros((10, 12), np.uint8)
    expected[:, 4:6] = 255
    np.testing.assert_array_equal(e, expected)
    im2 = np.zeros((1, 10, 12, 1), np.uint8)
    im2[:, 3:, :] = 30  # a step of 30/255 = 0.12 < 0.2: too weak to count
    assert not edge_map(im2).any()
    flat = np.full((1, 6, 6, 1), 99, np.uint8)
    assert not edge_map(flat).any()


def test_paired_augmentation_crops_and_flips_both_images_alike():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (20, 12, 12, 1), dtype=np.uint8)
    source = TranslationSource('t', Domains(a, 255 - a, True, 't'), seed=3, image_size=8, random_flip=True)
    offsets, flips = set(), []
    for step in range(4):
        batch = source.batch(step, 10)
        np.testing.assert_allclose(batch['a'] + batch['x'], 0.0, atol=1e-6)  # x is exactly 255 - a
        idx = data.paired.positions_to_indices(3, 0, 20, step * 10 + np.arange(10))
        for k, i in enumerate(idx):
            crop = np.rint((batch['a'][k, :, :, 0] + 1) * 127.5).astype(np.uint8)
            found = [(t, l, f) for t in range(5) for l in range(5) for f in (0, 1)
                     if np.array_equal((a[i, t:t + 8, l:l + 8, 0])[:, ::-1] if f else a[i, t:t + 8, l:l + 8, 0], crop)]
            assert found, 'each input is a crop (maybe mirrored) of its own image'
            offsets.add(found[0][:2])
            flips.append(found[0][2])
    assert len(offsets) > 5 and 0 < np.mean(flips) < 1


def test_unpaired_domains_have_independent_orders_and_crops():
    a = np.arange(20, dtype=np.uint8)[:, None, None, None] * np.ones((20, 4, 4, 1), np.uint8)
    source = TranslationSource('t', Domains(a, a.copy(), False, 't'), seed=1)
    batch = source.batch(0, 20)
    assert not np.array_equal(batch['a'], batch['x'])
    np.testing.assert_array_equal(np.sort(batch['a'][:, 0, 0, 0]), np.sort(batch['x'][:, 0, 0, 0]))  # one epoch each


def test_name_paired_folders_pair_by_name(tmp_path):
    for i, name in enumerate(['b', 'a', 'c']):
        _write(tmp_path / 'trainA' / f'{name}.png', np.full((4, 4), 10 * i, np.uint8))
        _write(tmp_path / 'trainB' / f'{name}.jpg' if name == 'c' else tmp_path / 'trainB' / f'{name}.png',
               np.full((4, 4), 10 * i, np.uint8))
    config = _tiny('pix2pix', tmp_path)
    d = data.paired.load_domains(config.data, 'train')
    np.testing.assert_allclose(d.a[:, 0, 0, 0].astype(int), d.b[:, 0, 0, 0].astype(int), atol=2)  # jpeg


def test_side_by_side_images_split_in_halves(tmp_path):
    im = np.zeros((4, 8), np.uint8)
    im[:, 4:] = 200
    _write(tmp_path / 'train' / '1.png', im)
    config = _tiny('pix2pix', tmp_path)
    d = data.paired.load_domains(config.data, 'train')
    assert d.a.shape == (1, 4, 4, 1) and (d.a == 0).all() and (d.b == 200).all()
    with config.data.unlocked():
        config.data.direction = 'BtoA'
    d = data.paired.load_domains(config.data, 'train')
    assert (d.a == 200).all() and (d.b == 0).all()


@pytest.mark.parametrize('case,needle', [
    ('sizes', 'domain A images are 8x8, domain B images 12x12'),
    ('channels', 'domain A has 1 channel(s), domain B 3'),
    ('odd', 'odd width 9'),
    ('empty', 'no PNG/JPEG images'),
    ('unnamed', 'no partner'),
])
def test_bad_two_domain_data_is_a_data_error(tmp_path, case, needle):
    pairing = 'unpaired'
    if case == 'sizes':
        _folders(tmp_path, sizes=(8, 12))
    elif case == 'channels':
        _folders(tmp_path, channels=(1, 3))
    elif case == 'odd':
        _write(tmp_path / 'train' / 'x.png', np.zeros((8, 9), np.uint8))
        pairing = 'paired'
    elif case == 'empty':
        _folders(tmp_path)
        for f in (tmp_path / 'trainB').iterdir():
            f.unlink()
    else:
        _folders(tmp_path)
        (tmp_path / 'trainB' / '000.png').rename(tmp_path / 'trainB' / 'zzz.png')
        pairing = 'paired'
    config = _tiny('cyclegan', tmp_path, **{'data.pairing': pairing})
    with pytest.raises(DataError, match=needle.replace('(', r'\(').replace(')', r'\)')):
        data.get_source(config.data, 0)


def test_bad_two_domain_data_through_the_cli_is_one_error_line_and_status_2(tmp_path):
    _folders(tmp_path / 'data', sizes=(8, 12))
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    r = subprocess.run([sys.executable, '-m', 'ganjax.main', '--config=experiments/cyclegan_edges_fashion.py',
                        f'--workdir={tmp_path / "run"}', f'--config.data.path={tmp_path / "data"}',
                        '--config.data.name=folders', '--config.data.image_size=0'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ') and 'domain B images 12x12' in lines[0], r.stderr


def test_games_refuse_the_wrong_pairing_or_model(tmp_path):
    with pytest.raises(ConfigError, match='paired'):
        games.get_game(_tiny('pix2pix', tmp_path, **{'data.pairing': 'unpaired'}), games.DataSpec((8, 8, 1)))
    with pytest.raises(ConfigError, match='ResNet'):
        games.get_game(_tiny('cyclegan', tmp_path, **{'model.name': 'pix2pix'}), games.DataSpec((8, 8, 1)))


# -------------------------------------------------------------------------------------- train loop

def test_pix2pix_trains_through_the_train_loop(tmp_path):
    root = _folders(tmp_path / 'data')
    out = train_and_evaluate(_tiny('pix2pix', root, **{'data.pairing': 'paired'}), tmp_path / 'run')
    assert out['step'] == 4
    samples = np.load(tmp_path / 'run' / 'samples.npz')['samples']
    assert samples.shape == (4, 8, 8, 1)
    # ganjax.translate on the same inputs (no test split here: the training A images) gives the run's samples
    from ganjax import translate

    assert translate.main(['--workdir', str(tmp_path / 'run'), '--input', str(root / 'trainA'),
                           '--out', str(tmp_path / 'out')]) == 0
    written = np.load(tmp_path / 'out' / 'translations.npz')
    assert written['AtoB'].shape == (8, 8, 8, 1) and (tmp_path / 'out' / 'AtoB' / '007.png').is_file()
    np.testing.assert_allclose(written['AtoB'][:4].astype(int), samples.astype(int), atol=1)


def test_translate_cli_bad_input_is_one_line_and_status_2(tmp_path, capsys):
    from ganjax import translate

    assert translate.main(['--workdir', str(tmp_path), '--input', str(tmp_path / 'none')]) == 2
    assert translate.main(['--workdir', str(tmp_path / 'norun'), '--input', str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and all(l.startswith('error: ') for l in lines), lines
    assert 'does not exist' in lines[0] and 'no such --workdir' in lines[1]


def test_cyclegan_trains_in_the_loop_and_resumes_from_its_checkpoint_bit_identically(tmp_path):
    """A CycleGAN run through the train loop; its step-2 checkpoint, restored and stepped twice on the same
    data, gives exactly its step-4 checkpoint, pools and their counts included (every swap comes from
    the step's key and the pools live in the state)."""
    root = _folders(tmp_path / 'data')
    config = _tiny('cyclegan', root, **{'translation.resnet_blocks': 0})  # less to compile
    train_and_evaluate(config, tmp_path / 'run')
    source = data.get_source(config.data, config.seed)
    game, _, fresh, step = games.setup(config, games.DataSpec(source.example_shape))
    step = jax.jit(step)
    shutil.copytree(tmp_path / 'run', tmp_path / 'at2')
    shutil.rmtree(tmp_path / 'at2' / 'checkpoints' / '4')
    saved = {}
    for s, run in ((2, 'at2'), (4, 'run')):
        with ckpt_lib.Checkpoints(tmp_path / run, config, source.example_shape, 0, sampler=game.sampler) as ck:
            saved[s] = ck.restore_latest(fresh).state
    state = saved[2]
    assert int(state.extra['count_a']) == 3 and np.abs(np.asarray(state.extra['pool_b'])).min() > 0  # full
    for s in (2, 3):
        state, _ = step(state, source.batch(s, 4))
    assert_trees_equal(state, saved[4])
    assert not np.array_equal(np.asarray(saved[2].extra['pool_b']), np.asarray(saved[4].extra['pool_b']))
