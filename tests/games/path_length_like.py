"""StyleGAN2-path-length-shaped: a lazy generator regulariser with a running mean in the extra state.

Besides the discriminator and generator updates, every ``EVERY``-th step a third update trains G on the
path-length penalty (Karras et al. 2020): with ``y ~ N(0, I)`` in sample space, the lengths
``|J_z^T y|`` of the generator's Jacobian are pulled towards their running mean ``a``, which moves by
``DECAY`` of the way to the batch mean each time the regulariser runs. The update's loss is scaled by
``EVERY`` by the step engine and skipped entirely (no optimiser step, ``a`` unchanged) on other steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ganjax.games import Game, Network, OptimizerSpec, Update
from tests.games import Net, softplus, zeros

EVERY = 2
DECAY = 0.01
WEIGHT = 2.0


def build(config, spec, axis_name=None) -> Game:
    dim, zd, w, t = spec.example_shape[0], config.model.latent_dim, config.model.width, config.train

    def d_loss(params, ctx):
        real = ctx.batch['x']
        fake = lax.stop_gradient(ctx.apply('G', params['G'], ctx.normal(ctx.key, (real.shape[0], zd)))[0])
        r = ctx.apply('D', params['D'], real)[0]['logits']
        f = ctx.apply('D', params['D'], fake)[0]['logits']
        return jnp.mean(softplus(-r)) + jnp.mean(softplus(f)), {}

    def g_loss(params, ctx):
        fake = ctx.apply('G', params['G'], ctx.normal(ctx.key, (ctx.batch['x'].shape[0], zd)))[0]
        return jnp.mean(softplus(-ctx.apply('D', params['D'], fake)[0]['logits'])), {}

    def path_length(params, ctx):
        n = ctx.batch['x'].shape[0]
        k_z, k_y = jax.random.split(ctx.key)
        z, y = ctx.normal(k_z, (n, zd)), ctx.normal(k_y, (n, dim))
        jty = jax.grad(lambda v: jnp.sum(ctx.apply('G', params['G'], v)[0] * y))(z)
        lengths = jnp.sqrt(jnp.sum(jty**2, axis=1))
        avg = ctx.extra['pl_mean']
        avg = lax.stop_gradient(avg + DECAY * (ctx.mean(jnp.mean(lengths)) - avg))
        penalty = jnp.mean((lengths - avg) ** 2)
        return WEIGHT * penalty, {'metrics': {'path_length': penalty}, 'extra': {'pl_mean': avg}}

    return Game(
        networks={'G': Network(Net(dim, w), (zeros(2, zd),), OptimizerSpec(t.g_lr), ema=True),
                  'D': Network(Net(1, w, 'logits'), (zeros(2, dim),), OptimizerSpec(t.d_lr))},
        updates=(Update('D', ('D',), d_loss), Update('G', ('G',), g_loss),
                 Update('G_reg', ('G',), path_length, every=EVERY)),
        latent_dim=zd, init_extra=lambda: {'pl_mean': jnp.zeros((), jnp.float32)})
