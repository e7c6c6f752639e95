"""The maths of the image GAN families against hand computations and closed forms: the projection
discriminator, AC-GAN's class loss, BigGAN's orthogonal regularisation, InfoGAN's information terms, and
one training step of each family's models through the real step engine."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from ganjax import games, losses, penalties
from ganjax.games import infogan
from ganjax.models.resnet import ResNetDiscriminator
from tests.conftest import tiny_config


def test_auxiliary_classifier_loss_by_hand():
    logits = jnp.array([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0]])
    expected = np.mean([-np.log(np.exp(2) / (np.exp(2) + 2)), -np.log(np.exp(1) / (1 + np.exp(1) + np.exp(3)))])
    np.testing.assert_allclose(losses.auxiliary_classifier(logits, jnp.array([0, 1])), expected, rtol=1e-6)


def test_projection_discriminator_adds_the_class_embedding_inner_product():
    d = ResNetDiscriminator(image_shape=(32, 32, 3), width=8, num_classes=5)
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 32, 32, 3))
    labels = jnp.array([0, 3, 4])
    variables = d.init(jax.random.PRNGKey(1), x, labels, train=False)
    out = d.apply(variables, x, labels, train=False)
    h = np.asarray(out['features'], np.float64)
    p = variables['params']
    dense = [k for k in p if k.startswith('Dense')][0]
    psi = h @ np.asarray(p[dense]['kernel'], np.float64)[:, 0] + float(p[dense]['bias'][0])
    embed = np.asarray(p['Embed_0']['embedding'], np.float64)
    np.testing.assert_allclose(out['logits'], psi + np.sum(embed[np.asarray(labels)] * h, axis=1), rtol=1e-4, atol=1e-5)


def test_dcgan_dense_layer_by_hand_and_configs_saved_before_it():
    """D's ``model.dense`` layer is leaky_relu(W . body + b) on the conv body; a saved config without the
    key builds the model it was trained with (no dense layer)."""
    from ganjax import models

    cfg = tiny_config(**{'model.name': 'dcgan', 'model.dense': 6}).model
    _, d = models.get_models(cfg, (28, 28, 1))
    x = jax.random.normal(jax.random.PRNGKey(0), (3, 28, 28, 1))
    p = d.init(jax.random.PRNGKey(1), x, train=False)['params']
    w, b = np.asarray(p['Dense_0']['kernel'], np.float64), np.asarray(p['Dense_0']['bias'], np.float64)
    head = {'kernel': jnp.zeros((w.shape[0], 1)), 'bias': jnp.zeros(1)}  # D's logit layer without the dense one
    body = d.clone(dense=0).apply({'params': {'Conv_0': p['Conv_0'], 'Conv_1': p['Conv_1'], 'Dense_0': head}},
                                  x, train=False)['features']
    pre = np.asarray(body, np.float64) @ w + b
    np.testing.assert_allclose(d.apply({'params': p}, x, train=False)['features'], np.where(pre > 0, pre, 0.2 * pre),
                               rtol=1e-4, atol=1e-5)
    old = ml_collections.ConfigDict({k: v for k, v in tiny_config(**{'model.name': 'dcgan'}).model.items()
                                     if k != 'dense'})
    g_old, d_old = models.get_models(old, (28, 28, 1))
    assert g_old.dense == 0 and d_old.dense == 0


def test_orthogonal_regularisation_closed_form():
    w = jnp.array([[1.0, 2.0], [3.0, 4.0]])  # filters are columns: (1, 3) and (2, 4); W^T W = [[10, 14], [14, 20]]
    conv = jnp.ones((3, 3, 1, 2))  # two equal filters of nine ones: off-diagonal 9 each
    params = {'Dense_0': {'kernel': w, 'bias': jnp.ones(2)}, 'Conv_0': {'kernel': conv}}
    np.testing.assert_allclose(penalties.orthogonal(params), 2 * 14.0**2 + 2 * 9.0**2, rtol=1e-6)
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((6, 4)))  # orthonormal columns: no penalty
    assert float(penalties.orthogonal({'kernel': jnp.asarray(q * 3.0, jnp.float32)})) < 1e-8


def test_infogan_information_terms_closed_form():
    k = 4
    p_right = 0.7  # Q's posterior: 0.7 on the true code, 0.1 on each other
    codes = jnp.array([0, 1, 2, 3, 1])
    logits = jnp.log(jnp.where(jax.nn.one_hot(codes, k) > 0, p_right, 0.1))
    cont_q = jnp.array([[0.5], [0.0], [-1.0], [0.2], [0.3]])
    cont = jnp.array([[0.0], [0.0], [0.0], [0.0], [0.0]])
    q = jnp.concatenate([logits, cont_q], axis=1)
    # I(c; x) >= H(c) - E[-log Q(c|x)] = log 4 + log 0.7 for a uniform code and this posterior
    np.testing.assert_allclose(infogan.mutual_information_bound(q, codes, k), np.log(4 * p_right), rtol=1e-6)
    expected = -np.log(p_right) + 0.5 * np.mean(np.asarray(cont_q)[:, 0] ** 2)
    np.testing.assert_allclose(infogan.information_loss(q, codes, cont, k), expected, rtol=1e-6)


def test_infogan_code_sweep_varies_one_code_at_a_time():
    c = tiny_config(**{'game.name': 'infogan', 'game.categorical': 3, 'game.continuous': 2, 'model.latent_dim': 4})
    z, cols = infogan.code_sweep(c, jax.random.PRNGKey(0), rows=2, steps=5)
    assert cols == 3 + 2 * 5 and z.shape == (2 * cols, 4 + 3 + 2)
    grid = np.asarray(z).reshape(2, cols, -1)
    assert np.all(grid[:, :, :4] == grid[:, :1, :4])  # one noise vector per row
    np.testing.assert_array_equal(grid[0, :3, 4:7], np.eye(3))  # the categorical code walks its values
    np.testing.assert_allclose(grid[0, 3:8, 7], np.linspace(-1, 1, 5))  # then each continuous code sweeps
    np.testing.assert_array_equal(grid[0, 3:8, 8], 0.0)
    np.testing.assert_allclose(grid[1, 8:13, 8], np.linspace(-1, 1, 5))


@pytest.mark.parametrize('dist, variance', [('normal', 1.0), ('uniform', 1.0 / 3.0)])
def test_infogan_noise_follows_model_latent_dist(dist, variance):
    """InfoGAN's noise is ``model.latent_dist`` (the paper's code: uniform on [-1, 1], variance 1/3), in
    training, sampling and the code sweep; the codes after it keep their own distributions."""
    c = tiny_config(**{'game.name': 'infogan', 'game.categorical': 3, 'game.continuous': 1, 'model.name': 'dcgan',
                       'model.latent_dim': 8, 'model.latent_dist': dist})
    game = games.get_game(c, games.DataSpec((28, 28, 1)))
    z = np.asarray(game.latents(jax.random.PRNGKey(0), 4000))
    noise = z[:, :8]
    np.testing.assert_allclose(noise.var(), variance, rtol=0.05)
    assert (np.abs(noise).max() <= 1.0) == (dist == 'uniform')
    np.testing.assert_array_equal(z[:, 8:11].sum(axis=1), 1.0)
    sweep = np.asarray(infogan.code_sweep(c, jax.random.PRNGKey(1), rows=400, steps=2)[0])[:, :8]
    np.testing.assert_allclose(sweep.var(), variance, rtol=0.1)


FAMILIES = {
    'sngan': {'model.name': 'resnet', 'model.d_spectral_norm': True, 'loss.name': 'hinge'},
    'sagan': {'model.name': 'resnet', 'model.d_spectral_norm': True, 'model.g_spectral_norm': True,
              'model.attention': 16, 'loss.name': 'hinge'},
    'cgan_cbn_projection': {'model.name': 'resnet', 'model.g_conditioning': 'cbn', 'data.conditional': True},
    'acgan': {'model.name': 'resnet', 'model.aux_classifier': True, 'data.conditional': True},
    'biggan': {'model.name': 'biggan', 'model.d_spectral_norm': True, 'model.latent_dim': 8,
               'penalty.g_orthogonal': 1e-4, 'loss.name': 'hinge', 'data.conditional': True},
    'infogan': {'game.name': 'infogan', 'model.name': 'dcgan'},
    # the CPU-sized Fashion-MNIST recipes: the same options on the 28x28 DCGAN, BigGAN from 7x7
    'sagan_dcgan': {'model.name': 'dcgan', 'model.d_spectral_norm': True, 'model.g_spectral_norm': True,
                    'model.attention': 14, 'loss.name': 'hinge', 'data.conditional': True},
    'acgan_dcgan': {'model.name': 'dcgan', 'model.aux_classifier': True, 'data.conditional': True},
    'biggan_28': {'model.name': 'biggan', 'model.d_spectral_norm': True, 'model.latent_dim': 9,
                  'penalty.g_orthogonal': 1e-4, 'loss.name': 'hinge', 'data.conditional': True},
}
AT_28 = ('infogan', 'sagan_dcgan', 'acgan_dcgan', 'biggan_28')


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_family_trains_through_the_step_engine(family):
    """Two steps on random images: finite, both networks move, and the family's own terms are reported."""
    c = tiny_config(**{'model.width': 8, 'model.latent_dim': 8, 'train.batch_size': 4, **FAMILIES[family]})
    shape = (28, 28, 1) if family in AT_28 else (32, 32, 3)
    classes = 10 if c.data.conditional else 0
    game, _, state, step = games.setup(c, games.DataSpec(shape, classes))
    x = jax.random.uniform(jax.random.PRNGKey(0), (4, *shape), minval=-1, maxval=1)
    batch = {'x': x, **({'label': jnp.array([0, 3, 5, 9])} if classes else {})}
    step = jax.jit(step)
    new, metrics = step(state, batch)
    new, metrics = step(new, batch)
    assert float(metrics['nonfinite']) == 0 and all(np.isfinite(float(v)) for v in metrics.values())
    for net in ('G', 'D'):
        assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, new.params[net], state.params[net])))
    extra = {'acgan': 'g_cls', 'acgan_dcgan': 'g_cls', 'biggan': 'g_orthogonal', 'biggan_28': 'g_orthogonal',
             'infogan': 'mi_bound'}.get(family)
    assert extra is None or extra in metrics


@pytest.mark.parametrize('aux_fake', [True, False])
def test_acgan_d_class_loss_on_real_and_optionally_fake(aux_fake):
    """D's class term is the cross-entropy of its head on the real batch, plus that on the fakes unless
    ``loss.aux_fake`` is off."""
    c = tiny_config(**{'model.name': 'dcgan', 'model.width': 8, 'model.latent_dim': 8, 'train.batch_size': 4,
                       'model.aux_classifier': True, 'data.conditional': True, 'loss.aux_fake': aux_fake})
    game, _, state, step = games.setup(c, games.DataSpec((28, 28, 1), 10))
    x = jax.random.uniform(jax.random.PRNGKey(0), (4, 28, 28, 1), minval=-1, maxval=1)
    labels = jnp.array([0, 3, 5, 9])
    _, metrics = jax.jit(step)(state, {'x': x, 'label': labels})
    d = game.networks['D'].module
    logits = np.asarray(d.apply({'params': state.params['D']}, x, labels, train=True)['cls'], np.float64)
    log_p = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    real_ce = -np.mean(log_p[np.arange(4), np.asarray(labels)])
    if aux_fake:
        assert float(metrics['d_cls']) > real_ce + 1e-3  # a fake term (a positive cross-entropy) is added
    else:
        np.testing.assert_allclose(float(metrics['d_cls']), real_ce, rtol=1e-4)


def test_infogan_run_samples_with_its_own_codes(tmp_path):
    """A game with its own latents (noise + codes) samples through ganjax.sample from its checkpoint."""
    from ganjax import sample
    from ganjax.train import train_and_evaluate

    class Digits:  # 32 random 28x28 'images': enough to run the game end to end
        name, example_shape, num_classes, is_image = 'digits', (28, 28, 1), 0, True

        def iterate(self, n, start_step=0, process_index=0, process_count=1):
            while True:
                yield {'x': np.tanh(np.random.default_rng(start_step).standard_normal((n, 28, 28, 1))).astype(np.float32)}
                start_step += 1

    c = tiny_config(**{'game.name': 'infogan', 'game.categorical': 3, 'game.continuous': 1, 'model.name': 'dcgan',
                       'model.width': 8, 'model.latent_dim': 4, 'train.batch_size': 4, 'train.num_steps': 2,
                       'checkpoint.every_steps': 2, 'eval.num_samples': 8})
    train_and_evaluate(c, tmp_path, source=Digits())
    sampler = sample.load_sampler(tmp_path)
    z = sampler.latents([0, 1, 2])
    assert z.shape == (3, 4 + 3 + 1)
    np.testing.assert_array_equal(z[:, 4:7].sum(axis=1), 1.0)  # a one-hot categorical code per seed
    assert np.all(np.abs(z[:, 7]) <= 1.0)  # the continuous code is uniform on [-1, 1]
    np.testing.assert_array_equal(sampler.latents([2])[0], z[2])  # each seed alone gives its own latent
    assert sampler(z).shape == (3, 28, 28, 1)
