"""Self-attention and conditional batch norm (ganjax.models.blocks) against naive NumPy versions."""

import jax
import jax.numpy as jnp
import numpy as np

from ganjax.models.blocks import ConditionalBatchNorm, SelfAttention


def _randomise(tree, seed):
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
    return jax.tree.unflatten(treedef, [jax.random.normal(k, l.shape) for k, l in zip(keys, leaves)])


def test_self_attention_against_a_loop_over_positions():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 3, 4, 16))
    block = SelfAttention(spectral_norm=False)
    params = _randomise(block.init(jax.random.PRNGKey(1), x)['params'], 2)  # gamma != 0 too
    out = np.asarray(block.apply({'params': params}, x), np.float64)
    w = {k: np.asarray(params[k]['kernel'], np.float64)[0, 0] for k in ('query', 'key', 'value', 'out')}
    gamma = float(params['gamma'])
    xs = np.asarray(x, np.float64)
    for b in range(2):
        pos = xs[b].reshape(12, 16)  # the 3 x 4 positions in row-major order
        for i in range(12):
            scores = np.array([(pos[i] @ w['query']) @ (pos[j] @ w['key']) for j in range(12)])
            beta = np.exp(scores - scores.max())
            beta /= beta.sum()
            o = sum(beta[j] * (pos[j] @ w['value']) for j in range(12)) @ w['out']
            np.testing.assert_allclose(out[b].reshape(12, 16)[i], pos[i] + gamma * o, rtol=1e-4, atol=1e-5)


def test_self_attention_starts_as_the_identity_and_normalises_its_convs():
    x = jax.random.normal(jax.random.PRNGKey(0), (2, 4, 4, 16))
    block = SelfAttention(spectral_norm=True)
    variables = block.init(jax.random.PRNGKey(1), x, train=False)
    assert float(variables['params']['gamma']) == 0.0
    np.testing.assert_array_equal(block.apply(variables, x, train=False), x)
    assert len(jax.tree.leaves(variables['spectral'])) == 8  # u and sigma for each of the four 1x1 convs


def test_conditional_batch_norm_by_hand():
    x = jax.random.normal(jax.random.PRNGKey(0), (6, 2, 2, 3)) * 3 + 1
    cond = jax.nn.one_hot(jnp.array([0, 1, 2, 0, 1, 2]), 3)
    block = ConditionalBatchNorm()
    variables = block.init(jax.random.PRNGKey(1), x, cond, train=False)
    # zero-initialised maps: plain batch norm with unit scale and no offset at the start
    out, _ = block.apply(variables, x, cond, train=True, mutable=['batch_stats'])
    xs = np.asarray(x, np.float64)
    x_hat = (xs - xs.mean(axis=(0, 1, 2))) / np.sqrt(xs.var(axis=(0, 1, 2)) + 1e-5)
    np.testing.assert_allclose(out, x_hat, rtol=1e-4, atol=1e-5)
    params = _randomise(variables['params'], 3)
    out, _ = block.apply({**variables, 'params': params}, x, cond, train=True, mutable=['batch_stats'])
    g = np.asarray(params['gamma']['kernel'], np.float64)  # (classes, channels): one row per class
    b = np.asarray(params['beta']['kernel'], np.float64)
    labels = [0, 1, 2, 0, 1, 2]
    expected = np.stack([(1 + g[y]) * x_hat[n] + b[y] for n, y in enumerate(labels)])
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_minibatch_stddev_against_hand_computation():
    """Batch 4 in groups of 2 (examples {0, 2} and {1, 3}), 2 features of 2 channels each, 1x2 positions:
    every appended value is a mean of |a - b| / 2 over the group's feature pairs, written out by hand."""
    from ganjax.models.blocks import minibatch_stddev

    x = np.arange(4 * 1 * 2 * 4, dtype=np.float32).reshape(4, 1, 2, 4) ** 1.5
    out = np.asarray(minibatch_stddev(jnp.asarray(x), group_size=2, num_features=2))
    assert out.shape == (4, 1, 2, 6)
    np.testing.assert_array_equal(out[..., :4], x)
    for members in ((0, 2), (1, 3)):
        a, b = x[members[0]], x[members[1]]
        for f in range(2):
            sd = [np.sqrt(((a[i, j, c] - b[i, j, c]) / 2) ** 2 + 1e-8)
                  for i in range(1) for j in range(2) for c in (2 * f, 2 * f + 1)]
            for m in members:
                np.testing.assert_allclose(out[m, :, :, 4 + f], np.mean(sd), rtol=1e-6)
    # one group spanning the whole batch: the same value for every example
    one = np.asarray(minibatch_stddev(jnp.asarray(x), group_size=8))
    np.testing.assert_allclose(one[..., 4], one[0, 0, 0, 4])
    np.testing.assert_allclose(one[0, 0, 0, 4], np.mean(np.sqrt(np.var(x, axis=0) + 1e-8)), rtol=1e-6)
