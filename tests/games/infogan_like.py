"""InfoGAN-shaped: a third network Q, trained by two updates that share its one optimiser state.

G draws from ``(z, c)`` with a categorical code ``c`` of K values; Q predicts ``c`` from a sample. The
discriminator update trains ``(D, Q)`` on the adversarial loss plus the code's cross-entropy on the
fake batch; the generator update trains ``(G, Q)`` on the generator loss plus the same term (Chen et
al. 2016 train Q with both).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax import lax

from ganjax.games import Game, Network, OptimizerSpec, Update
from tests.games import Net, softplus, zeros

K = 4
INFO_WEIGHT = 1.0


def build(config, spec, axis_name=None) -> Game:
    dim, zd, w, t = spec.example_shape[0], config.model.latent_dim, config.model.width, config.train

    def inputs(ctx, key, n):
        kz, kc = jax.random.split(key)
        c = ctx.draw(lambda k, s: jax.random.randint(k, s, 0, K), kc, (n,))
        return jnp.concatenate([ctx.normal(kz, (n, zd)), jax.nn.one_hot(c, K)], axis=-1), c

    def info(ctx, params, x, c):
        logits, _ = ctx.apply('Q', params['Q'], x)
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, c))

    def d_loss(params, ctx):
        real = ctx.batch['x']
        z, c = inputs(ctx, ctx.key, real.shape[0])
        fake = lax.stop_gradient(ctx.apply('G', params['G'], z)[0])
        r = ctx.apply('D', params['D'], real)[0]['logits']
        f = ctx.apply('D', params['D'], fake)[0]['logits']
        adv = jnp.mean(softplus(-r)) + jnp.mean(softplus(f))
        mi = info(ctx, params, fake, c)
        return adv + INFO_WEIGHT * mi, {'metrics': {'d_loss': adv, 'd_info': mi}}

    def g_loss(params, ctx):
        z, c = inputs(ctx, ctx.key, ctx.batch['x'].shape[0])
        fake = ctx.apply('G', params['G'], z)[0]
        adv = jnp.mean(softplus(-ctx.apply('D', params['D'], fake)[0]['logits']))
        mi = info(ctx, params, fake, c)
        return adv + INFO_WEIGHT * mi, {'metrics': {'g_loss': adv, 'g_info': mi}}

    return Game(
        networks={'G': Network(Net(dim, w), (zeros(2, zd + K),), OptimizerSpec(t.g_lr), ema=True),
                  'D': Network(Net(1, w, 'logits'), (zeros(2, dim),), OptimizerSpec(t.d_lr)),
                  'Q': Network(Net(K, w), (zeros(2, dim),), OptimizerSpec(t.g_lr, 2))},
        updates=(Update('D', ('D', 'Q'), d_loss), Update('G', ('G', 'Q'), g_loss)),
        latent_dim=zd + K)
