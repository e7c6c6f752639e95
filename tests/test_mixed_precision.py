"""model.dtype='bfloat16': layers compute in bfloat16, parameters, optimiser states, outputs and losses
stay float32, and the results match float32 within bfloat16's precision."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ganjax import games, models
from ganjax.errors import ConfigError
from ganjax.models.layers import Conv, ConvTranspose
from tests.conftest import tiny_config

FAMILIES = [('mlp', (2,)), ('dcgan', (28, 28, 1)), ('wgan_gp_dcgan', (32, 32, 3)), ('resnet', (8, 8, 3)),
            ('biggan', (8, 8, 3))]


def _pair(name, shape, dtype, num_classes=0):
    c = tiny_config(**{'model.name': name, 'model.width': 8, 'model.latent_dim': 8, 'model.dtype': dtype})
    return c, models.get_models(c.model, shape, num_classes)


def _dtypes(tree):
    return {str(x.dtype) for x in jax.tree.leaves(tree)}


@pytest.mark.parametrize('name,shape', FAMILIES)
def test_bf16_models_match_float32_and_keep_float32_parameters(name, shape):
    _, (G32, D32) = _pair(name, shape, 'float32', num_classes=3)
    _, (G16, D16) = _pair(name, shape, 'bfloat16', num_classes=3)
    z = jax.random.normal(jax.random.PRNGKey(1), (4, 8))
    labels = jnp.array([0, 1, 2, 0])
    x = jax.random.uniform(jax.random.PRNGKey(2), (4, *shape), minval=-1, maxval=1)
    init = lambda m, *a: jax.jit(lambda k, *a: m.init(k, *a, train=False))(*a)  # noqa: E731
    run = lambda m, *a: jax.jit(lambda v, *a: m.apply(v, *a, train=False))(*a)  # noqa: E731 (one compile each)
    g_vars = init(G32, jax.random.PRNGKey(3), z, labels)
    d_vars = init(D32, jax.random.PRNGKey(4), x, labels)
    # the same parameters (float32) whatever the compute dtype: checkpoints are interchangeable
    g16_vars = init(G16, jax.random.PRNGKey(3), z, labels)
    assert _dtypes(g16_vars) == {'float32'}
    jax.tree.map(np.testing.assert_array_equal, g16_vars, g_vars)

    g32, g16 = run(G32, g_vars, z, labels), run(G16, g_vars, z, labels)
    d32, d16 = run(D32, d_vars, x, labels)['logits'], run(D16, d_vars, x, labels)['logits']
    assert g16.dtype == d16.dtype == jnp.float32  # losses, FID and pictures get float32
    assert not np.array_equal(g16, g32)  # it did compute in bfloat16 ...
    # ... to bfloat16's precision (8 significant bits: ~0.4% per rounding, a few roundings deep)
    np.testing.assert_allclose(g16, g32, atol=0.03 * float(jnp.abs(g32).max()) + 1e-3)
    np.testing.assert_allclose(d16, d32, atol=0.03 * float(jnp.abs(d32).max()) + 1e-3)


def test_conv_layers_compute_in_their_dtype():
    x = jax.random.normal(jax.random.PRNGKey(0), (1, 8, 8, 3))
    for layer in (Conv(4, (3, 3), (2, 2)), ConvTranspose(4, (4, 4), (2, 2))):
        params = layer.init(jax.random.PRNGKey(1), x)
        low = layer.clone(dtype=jnp.bfloat16)
        y16, y32 = low.apply(params, x), layer.apply(params, x)
        assert y16.dtype == jnp.bfloat16 and y32.dtype == jnp.float32
        # the same sums of the bfloat16-rounded operands, accumulated in float32
        xr = x.astype(jnp.bfloat16).astype(jnp.float32)
        pr = jax.tree.map(lambda p: p.astype(jnp.bfloat16).astype(jnp.float32), params)
        np.testing.assert_allclose(y16.astype(jnp.float32), layer.apply(pr, xr), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize('name,shape,penalty', [('dcgan', (28, 28, 1), 'r1'),
                                                ('wgan_gp_dcgan', (32, 32, 3), 'wgan_gp')])
def test_bf16_train_steps_stay_finite_with_float32_state(name, shape, penalty):
    c, _ = _pair(name, shape, 'bfloat16')
    c.penalty.name = penalty
    c.train.batch_size = 8
    _, _, state, step = games.setup(c, games.DataSpec(shape))
    step = jax.jit(step, donate_argnums=0)
    x = jax.random.uniform(jax.random.PRNGKey(5), (8, *shape), minval=-1, maxval=1)
    before = np.asarray(jax.tree.leaves(state.params['G'])[0])  # a copy: the step donates the state
    for _ in range(3):
        state, metrics = step(state, {'x': x})
    assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
    assert {str(m.dtype) for m in metrics.values() if jnp.issubdtype(m.dtype, jnp.floating)} == {'float32'}
    for tree in (state.params, state.opt_states, state.ema, state.collections):
        assert _dtypes(tree) <= {'float32', 'int32'}
    assert float(metrics['nonfinite']) == 0
    assert not np.allclose(jax.tree.leaves(state.params['G'])[0], before)  # and it did train


def test_unknown_dtype_is_a_config_error():
    c = tiny_config(**{'model.dtype': 'float16'})
    with pytest.raises(ConfigError, match='model.dtype'):
        models.get_models(c.model, (2,))
