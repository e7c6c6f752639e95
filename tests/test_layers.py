"""The fast convolution formulations compute what ``lax`` computes: outputs, parameter gradients and the
double backward of a gradient penalty, for every stride/kernel/padding combination the models use."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from ganjax import penalties
from ganjax.errors import ConfigError
from ganjax.models import layers
from ganjax.models.layers import Conv, ConvTranspose

FAST = ('slices', 'patches')
# (module, kernel, strides, padding, input spatial size): the combinations of ganjax's models, plus odd
# sizes where SAME padding is asymmetric.
CASES = [
    (Conv, (3, 3), (2, 2), ((1, 1), (1, 1)), 8),  # wgan_gp_dcgan D
    (Conv, (4, 4), (2, 2), ((1, 1), (1, 1)), 8),  # dcgan D
    (Conv, (3, 3), (1, 1), 'SAME', 6),  # resnet
    (Conv, (1, 1), (1, 1), 'SAME', 5),  # resnet shortcut
    (Conv, (4, 4), (2, 2), 'SAME', 7),
    (Conv, (3, 3), (2, 2), 'VALID', 7),
    (ConvTranspose, (2, 2), (2, 2), 'VALID', 4),  # wgan_gp_dcgan G
    (ConvTranspose, (4, 4), (2, 2), 'SAME', 4),  # dcgan G
    (ConvTranspose, (3, 3), (2, 2), 'SAME', 3),
    (ConvTranspose, (3, 3), (2, 2), ((1, 2), (2, 0)), 3),
]
IDS = [f'{c.__name__}-k{k[0]}s{s[0]}-{p if isinstance(p, str) else "explicit"}-{n}' for c, k, s, p, n in CASES]


def _setup(case, impl: str, batch: int = 3, cin: int = 5, cout: int = 4):
    cls, kernel, strides, padding, size = case
    module = cls(cout, kernel, strides, padding=padding, impl=impl)
    x = jax.random.normal(jax.random.PRNGKey(1), (batch, size, size, cin))
    params = module.init(jax.random.PRNGKey(0), x)['params']
    # A non-zero bias so that bias handling is checked too.
    params = {**params, 'bias': jnp.linspace(-0.5, 0.5, cout)}
    return module, params, x


def _reference(case, params, x):
    """Direct ``lax`` call, independent of the module's code."""
    cls, kernel, strides, padding, _ = case
    dn = ('NHWC', 'HWIO', 'NHWC')
    if cls is Conv:
        y = lax.conv_general_dilated(x, params['kernel'], strides, padding, dimension_numbers=dn)
    else:
        y = lax.conv_transpose(x, params['kernel'], strides, padding, dimension_numbers=dn)
    return y + params['bias']


def _close(a, b, scale=None):
    a, b = np.asarray(a), np.asarray(b)
    scale = scale if scale is not None else max(1.0, float(np.max(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-5 * scale)


@pytest.mark.parametrize('impl', FAST)
@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_output_equals_lax(case, impl):
    module, params, x = _setup(case, impl)
    y = module.apply({'params': params}, x)
    ref = _reference(case, params, x)
    assert y.shape == ref.shape
    _close(y, ref)


def test_slices_conv_matches_hand_computation():
    """A 1-channel 3x3 stride-2 pad-1 correlation computed by hand on a 4x4 ramp."""
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    k = jnp.arange(9.0).reshape(3, 3, 1, 1)
    y = layers.conv_slices(x, k, (2, 2), ((1, 1), (1, 1)))
    xp = np.pad(np.arange(16.0).reshape(4, 4), 1)
    want = np.array([[np.sum(xp[2 * i:2 * i + 3, 2 * j:2 * j + 3] * np.arange(9.0).reshape(3, 3))
                      for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(np.asarray(y)[0, :, :, 0], want)


def test_slices_conv_transpose_matches_hand_computation():
    """lax.conv_transpose with kernel == stride == 2, VALID: output pixel (2p + a, 2q + b) is input pixel
    (p, q) times kernel tap (1 - a, 1 - b) (the kernel is not flipped, so the tap order reverses)."""
    x = jnp.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    k = jnp.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(2, 2, 1, 1)
    y = layers.conv_transpose_slices(x, k, (2, 2), layers.conv_transpose_pads((2, 2), (2, 2), 'VALID'))
    taps = np.array([[1000.0, 100.0], [10.0, 1.0]])
    want = np.kron(np.array([[1.0, 2.0], [3.0, 4.0]]), taps)
    np.testing.assert_allclose(np.asarray(y)[0, :, :, 0], want)


@pytest.mark.parametrize('impl', FAST)
@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_param_and_input_grads_equal_lax(case, impl):
    module, params, x = _setup(case, impl)
    w = jax.random.normal(jax.random.PRNGKey(2), _reference(case, params, x).shape)
    fast = jax.grad(lambda p, v: jnp.sum(w * jnp.tanh(module.apply({'params': p}, v))), argnums=(0, 1))
    ref = jax.grad(lambda p, v: jnp.sum(w * jnp.tanh(_reference(case, p, v))), argnums=(0, 1))
    (gp, gx), (rp, rx) = fast(params, x), ref(params, x)
    _close(gx, rx)
    for name in ('kernel', 'bias'):
        _close(gp[name], rp[name])


@pytest.mark.parametrize('impl', FAST)
@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_gradient_penalty_double_backward_equals_lax(case, impl):
    """d/dparams of the WGAN-GP penalty of ``sum(leaky_relu(layer(x)) * w)``: a gradient of a gradient
    through the layer, which is where XLA's conv slow paths were."""
    module, params, x = _setup(case, impl)
    w = jax.random.normal(jax.random.PRNGKey(2), _reference(case, params, x).shape)
    fake = jax.random.normal(jax.random.PRNGKey(3), x.shape)
    gp = penalties.wgan_gp()
    key = jax.random.PRNGKey(4)

    def loss(layer):
        def fn(p):
            d = lambda v: jnp.sum((jax.nn.leaky_relu(layer(p, v), 0.1) * w).reshape(v.shape[0], -1), axis=1)
            return gp(d, x, fake, key)
        return fn

    fast_loss = loss(lambda p, v: module.apply({'params': p}, v))
    ref_loss = loss(lambda p, v: _reference(case, p, v))
    np.testing.assert_allclose(float(fast_loss(params)), float(ref_loss(params)), rtol=2e-5)
    got, want = jax.grad(fast_loss)(params), jax.grad(ref_loss)(params)
    assert float(jnp.max(jnp.abs(want['kernel']))) > 0  # the double backward is not trivially zero
    for name in ('kernel', 'bias'):
        _close(got[name], want[name])


@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_params_identical_across_impls(case):
    trees = [_setup(case, impl)[1] for impl in ('xla', *FAST)]
    for tree in trees[1:]:
        assert jax.tree.structure(tree) == jax.tree.structure(trees[0])
        for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(trees[0])):
            np.testing.assert_array_equal(a, b)


def test_models_agree_across_impls():
    """Whole generators/discriminators of every conv family give the same outputs under each impl."""
    from ml_collections import ConfigDict

    from ganjax.models import get_models

    for name, size, latent in (('wgan_gp_dcgan', 32, 16), ('dcgan', 32, 16), ('resnet', 32, 16)):
        outs = {}
        for impl in ('xla', *FAST):
            cfg = ConfigDict(dict(name=name, width=8, depth=1, g_batch_norm=True, d_batch_norm=False,
                                  conv_impl=impl, latent_dim=latent))
            g, d = get_models(cfg, (size, size, 3))
            z = jax.random.normal(jax.random.PRNGKey(0), (2, latent))
            gv = g.init(jax.random.PRNGKey(1), z, train=False)
            img = g.apply(gv, z, train=False)
            dv = d.init(jax.random.PRNGKey(2), img, train=False)
            outs[impl] = (img, d.apply(dv, img, train=False))
        for impl in FAST:
            _close(outs[impl][0], outs['xla'][0])
            _close(outs[impl][1], outs['xla'][1])


def test_resolve_impl():
    assert layers.resolve_impl('auto', 'cpu') == 'slices'
    assert layers.resolve_impl('auto', 'gpu') == 'xla'
    assert layers.resolve_impl('patches', 'gpu') == 'patches'
    with pytest.raises(ConfigError, match='conv_impl'):
        layers.resolve_impl('fast')


def test_bad_padding_is_a_config_error():
    x = jnp.zeros((1, 4, 4, 1))
    with pytest.raises(ConfigError, match='padding'):
        Conv(2, padding='FULL').init(jax.random.PRNGKey(0), x)
    with pytest.raises(ConfigError, match='padding'):
        ConvTranspose(2, padding=((1, 1),)).init(jax.random.PRNGKey(0), x)
