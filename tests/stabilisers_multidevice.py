"""The stabilisers under 8 emulated devices: what holds per device and what holds globally.

Executed by tests/test_stabilisers_parallel.py in a subprocess with
``XLA_FLAGS=--xla_force_host_platform_device_count=8``; prints ``ok <check>`` per check that holds and
exits non-zero (an AssertionError) at the first that does not.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

from ganjax import augment  # noqa: E402
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator  # noqa: E402

N_DEV, PER = 8, 4


def pmap_draw(sampler, key, shape):
    """Context.draw under pmap: this device's slice of the global draw."""
    full = sampler(key, (N_DEV * shape[0], *shape[1:]))
    return lax.dynamic_slice_in_dim(full, lax.axis_index('batch') * shape[0], shape[0])


def main():
    assert jax.device_count() == N_DEV
    rng = np.random.default_rng(0)

    # 1. minibatch discrimination / stddev: under pmap each device compares its own examples; the
    #    global batch's comparison ('single', 'sharded') differs.
    x = jnp.asarray(rng.normal(size=(N_DEV * PER, 3)), jnp.float32)
    for name, d in (('minibatch_discrimination', MLPDiscriminator(width=8, depth=1, minibatch_kernels=3)),
                    ('minibatch_stddev', MLPDiscriminator(width=8, depth=1, minibatch_stddev=2))):
        params = d.init(jax.random.PRNGKey(0), x[:PER])
        per_device = jax.pmap(lambda v: d.apply(params, v)['logits'], axis_name='batch')(x.reshape(N_DEV, PER, 3))
        slices = np.concatenate([np.asarray(d.apply(params, x[i * PER:(i + 1) * PER])['logits'])
                                 for i in range(N_DEV)])
        np.testing.assert_allclose(np.asarray(per_device).reshape(-1), slices, rtol=1e-5, atol=1e-6)
        global_ = np.asarray(d.apply(params, x)['logits'])
        assert np.abs(global_ - slices).max() > 1e-4, name
        print('ok', name, 'is per device under pmap')

    # 2. virtual batch norm: the reference batch is in every device's variables, so each example's sample
    #    is the same under pmap as on one device.
    g = MLPGenerator(out_dim=2, width=8, depth=2, virtual_batch_norm=8)
    z = jnp.asarray(rng.normal(size=(N_DEV * PER, 2)), jnp.float32)
    variables = g.init(jax.random.PRNGKey(1), z[:PER])
    per_device = jax.pmap(lambda v: g.apply(variables, v), axis_name='batch')(z.reshape(N_DEV, PER, 2))
    np.testing.assert_allclose(np.asarray(per_device).reshape(-1, 2), g.apply(variables, z), rtol=1e-5, atol=1e-6)
    print('ok virtual_batch_norm is the same on 8 devices')

    # 3. DiffAugment and ADA draw through Context.draw: 8 devices augment as one device does.
    imgs = jnp.asarray(np.tanh(rng.normal(size=(N_DEV * PER, 8, 8, 3))), jnp.float32)
    key = jax.random.PRNGKey(2)
    ops = ('color', 'translation', 'cutout')
    for name, fn in (('diffaugment', lambda v, d: augment.diffaugment(v, ops, key, d)),
                     ('ada', lambda v, d: augment.ada(v, jnp.float32(0.5), key, d))):
        one = fn(imgs, augment.plain_draw)
        eight = jax.pmap(lambda v: fn(v, pmap_draw), axis_name='batch')(imgs.reshape(N_DEV, PER, 8, 8, 3))
        np.testing.assert_allclose(np.asarray(eight).reshape(one.shape), one, rtol=1e-6, atol=1e-6)
        print('ok', name, 'is the same on 8 devices')


if __name__ == '__main__':
    main()
