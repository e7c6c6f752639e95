"""The fused Inception forward against a plain per-convolution reference, without torch or real weights.

``ganjax.metrics.inception`` folds batch norm into the kernels, runs each block's 1x1 convolutions as one
matmul and pools the average-pool branch *after* its 1x1 convolution. Each is exact in real arithmetic;
these tests check them in float32 on random weights against the textbook order of operations (convolution,
batch norm with its own statistics, ReLU; pool before convolving), written out here independently. The
parity with the published network on real images lives in tests/test_inception_parity.py.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from ganjax.metrics import inception as I
from ganjax.metrics import weights as W

HI = lax.Precision.HIGHEST


@pytest.fixture(scope='module')
def weights() -> W.Weights:
    rng = np.random.default_rng(0)
    out = {}
    for key, shape in W.expected_shapes(False).items():
        if key.endswith('/kernel'):
            fan_in = int(np.prod(shape[:-1]))
            out[key] = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
        elif key.endswith('/var'):
            out[key] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
        elif key.endswith('/gamma'):
            out[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:  # beta, mean
            out[key] = (0.1 * rng.standard_normal(shape)).astype(np.float32)
    return out


def conv_bn_relu(x, w, path):
    """Convolution, then batch norm with the layer's statistics, then ReLU: nothing folded or fused."""
    _, _, s, (ph, pw) = W.CONV_SPEC[path]
    y = lax.conv_general_dilated(x, jnp.asarray(w[f'{path}/kernel']), (s, s), ((ph, ph), (pw, pw)),
                                 dimension_numbers=('NHWC', 'HWIO', 'NHWC'), precision=HI)
    y = (y - w[f'{path}/mean']) / np.sqrt(w[f'{path}/var'] + I.BN_EPS) * w[f'{path}/gamma'] + w[f'{path}/beta']
    return jnp.maximum(y, 0.0)


def avg_pool_real_pixels(x):
    """3x3 stride-1 average over the real pixels of each window: a window sum over a count of ones."""
    pad = ((0, 0), (1, 1), (1, 1), (0, 0))
    total = lax.reduce_window(x, 0.0, lax.add, (1, 3, 3, 1), (1, 1, 1, 1), pad)
    count = lax.reduce_window(jnp.ones_like(x[..., :1]), 0.0, lax.add, (1, 3, 3, 1), (1, 1, 1, 1), pad)
    return total / count


def reference_block(x, w, block):
    def c(rel, y):
        return conv_bn_relu(y, w, f'{block}/{rel}')

    if block == 'mixed':
        return jnp.concatenate([
            c('conv', x), c('tower/conv_1', c('tower/conv', x)),
            c('tower_1/conv_2', c('tower_1/conv_1', c('tower_1/conv', x))),
            c('tower_2/conv', avg_pool_real_pixels(x))], axis=-1)
    a = c('tower_conv', x)
    b = c('tower_1_conv_1', c('tower_1_conv', x))
    if block == 'mixed_9':
        pooled = avg_pool_real_pixels(x)
    else:
        pooled = lax.reduce_window(x, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 1, 1, 1),
                                   ((0, 0), (1, 1), (1, 1), (0, 0)))
    return jnp.concatenate([c('conv', x), c('tower_mixed_conv', a), c('tower_mixed_conv_1', a),
                            c('tower_1_mixed_conv', b), c('tower_1_mixed_conv_1', b),
                            c('tower_2_conv', pooled)], axis=-1)


@pytest.mark.parametrize('block,channels', [('mixed', 192), ('mixed_9', 1280), ('mixed_10', 2048)])
def test_fused_block_equals_per_conv_reference(weights, block, channels):
    """A (four-way fused head with the pooled branch), E with an average pool (fused) and E with a max
    pool (not fusable: kept as its own convolution)."""
    params = I.prepare_params(weights)
    x = jnp.asarray(np.random.default_rng(1).standard_normal((2, 5, 5, channels)).astype(np.float32))
    ours = np.asarray(I.block_forward(x, block, params[block], HI))
    ref = np.asarray(reference_block(x, weights, block))
    assert ours.shape == ref.shape
    rel = np.linalg.norm(ours - ref) / np.linalg.norm(ref)
    assert rel < 1e-5, rel
    assert np.linalg.norm(ref) > 1.0  # the comparison is not between two arrays of zeros


def test_head_covers_every_1x1_branch_once(weights):
    """Every convolution of the table is used exactly once: either in a fused head or on its own."""
    params = I.prepare_params(weights)
    own = set()
    for name, leaf in params.items():
        if name in I.BLOCKS:
            own |= {f'{name}/{rel}' for rel in leaf if rel != 'head'}
        elif name != 'fc':
            own.add(name)
    fused = {f'{b}/{r}' for b, rels in I.HEADS.items() for r in rels}
    assert own.isdisjoint(fused)
    assert own | fused == {path for path, *_ in W.CONVS}
    for block, rels in I.HEADS.items():
        width = sum(W.CONV_SPEC[f'{block}/{r}'][0] for r in rels)
        assert params[block]['head']['kernel'].shape[1] == width
