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
IDS = [f'{c.__name__}-k{k[0]}s{s[0]}-{p if isinstance(p, str) else "explicit"}-{n}'
       for c, k, s, p, n in CASES]
MODEL_CASE_IDS = {IDS[i] for i in (0, 1, 2, 3, 6, 7)}


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


def _checks(case, layer):
    """(output, input grad, param grads, GP value, GP param grads) of ``layer(params, x)``, jitted."""
    _, params, x = _setup(case, 'xla')
    shape = _reference(case, params, x).shape
    w = jax.random.normal(jax.random.PRNGKey(2), shape)
    fake = jax.random.normal(jax.random.PRNGKey(3), x.shape)
    gp, key = penalties.wgan_gp(), jax.random.PRNGKey(4)

    def penalty(p):
        # A gradient of a gradient through the layer, which is where XLA's conv slow paths were.
        d = lambda v: jnp.sum((jax.nn.leaky_relu(layer(p, v), 0.1) * w).reshape(v.shape[0], -1), axis=1)
        return gp(d, x, fake, key)

    @jax.jit
    def run(p, v):
        y = layer(p, v)
        gp_, gv = jax.grad(lambda p_, v_: jnp.sum(w * jnp.tanh(layer(p_, v_))), argnums=(0, 1))(p, v)
        pen, pen_grads = jax.value_and_grad(penalty)(p)
        return y, gv, gp_, pen, pen_grads

    return run(params, x)


# 'slices' ('auto' on CPU) on every case; 'patches' (never picked by 'auto') on the models' own combinations.
IMPL_CASES = [pytest.param(case, impl, id=f'{cid}-{impl}') for case, cid in zip(CASES, IDS) for impl in FAST
              if impl == 'slices' or cid in MODEL_CASE_IDS]


@pytest.mark.parametrize('case,impl', IMPL_CASES)
def test_outputs_grads_and_double_backward_equal_lax(case, impl):
    module = _setup(case, impl)[0]
    got = _checks(case, lambda p, v: module.apply({'params': p}, v))
    want = _checks(case, lambda p, v: _reference(case, p, v))
    assert got[0].shape == want[0].shape
    _close(got[0], want[0])  # outputs
    _close(got[1], want[1])  # input gradients
    np.testing.assert_allclose(float(got[3]), float(want[3]), rtol=2e-5)  # penalty value
    assert float(jnp.max(jnp.abs(want[4]['kernel']))) > 0  # the double backward is not trivially zero
    for name in ('kernel', 'bias'):
        _close(got[2][name], want[2][name])  # parameter gradients
        _close(got[4][name], want[4][name])  # parameter gradients of the penalty (double backward)


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


@pytest.mark.parametrize('case', CASES, ids=IDS)
def test_params_identical_across_impls(case):
    trees = [_setup(case, impl)[1] for impl in ('xla', *FAST)]
    for tree in trees[1:]:
        assert jax.tree.structure(tree) == jax.tree.structure(trees[0])
        for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(trees[0])):
            np.testing.assert_array_equal(a, b)


def test_models_agree_across_impls():
    """A whole generator and discriminator give the same outputs under the fast impl."""
    from ml_collections import ConfigDict

    from ganjax.models import get_models

    def outputs(name: str, impl: str):
        cfg = ConfigDict(dict(name=name, width=4, depth=1, g_batch_norm=True, d_batch_norm=False,
                              conv_impl=impl, latent_dim=8))
        g, d = get_models(cfg, (32, 32, 3))

        z = jax.random.normal(jax.random.PRNGKey(0), (2, 8))
        img = g.apply(g.init(jax.random.PRNGKey(1), z, train=False), z, train=False)
        return img, d.apply(d.init(jax.random.PRNGKey(2), img, train=False), img, train=False)['logits']

    # The layer cases above cover every model's convolutions; one whole model keeps this test cheap.
    want, got = outputs('wgan_gp_dcgan', 'xla'), outputs('wgan_gp_dcgan', 'slices')
    _close(got[0], want[0])
    _close(got[1], want[1])


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
