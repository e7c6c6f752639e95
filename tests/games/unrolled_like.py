"""Unrolled-GAN-shaped: the generator's loss differentiates through K discriminator optimiser steps.

Metz et al. (2017): G is scored by the discriminator as it would be after K more of its own updates
against G's current samples, taken with D's real optimiser from its current state, and the gradient
flows back through those updates into G. Only G's parameters change in that update; D then trains as
usual in its own.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax import lax

from ganjax.games import Game, Network, OptimizerSpec, Update
from tests.games import Net, softplus, zeros

K = 3


def build(config, spec, axis_name=None) -> Game:
    dim, zd, w, t = spec.example_shape[0], config.model.latent_dim, config.model.width, config.train

    def discriminator_loss(ctx, d_params, real, fake):
        r = ctx.apply('D', d_params, real)[0]['logits']
        f = ctx.apply('D', d_params, fake)[0]['logits']
        return jnp.mean(softplus(-r)) + jnp.mean(softplus(f))

    def d_loss(params, ctx):
        real = ctx.batch['x']
        fake = lax.stop_gradient(ctx.apply('G', params['G'], ctx.normal(ctx.key, (real.shape[0], zd)))[0])
        return discriminator_loss(ctx, params['D'], real, fake), {}

    def g_loss(params, ctx):
        real = ctx.batch['x']
        fake = ctx.apply('G', params['G'], ctx.normal(ctx.key, (real.shape[0], zd)))[0]
        d_params, d_opt = params['D'], ctx.opt_states['D']
        for _ in range(K):
            grads = ctx.mean(jax.grad(lambda p: discriminator_loss(ctx, p, real, fake))(d_params))
            updates, d_opt = ctx.optimizers['D'].update(grads, d_opt, d_params)
            d_params = optax.apply_updates(d_params, updates)
        loss = jnp.mean(softplus(-ctx.apply('D', d_params, fake)[0]['logits']))
        return loss, {'metrics': {'g_loss': loss}}

    return Game(
        networks={'G': Network(Net(dim, w), (zeros(2, zd),), OptimizerSpec(t.g_lr), ema=True),
                  'D': Network(Net(1, w, 'logits'), (zeros(2, dim),), OptimizerSpec(t.d_lr))},
        updates=(Update('D', ('D',), d_loss), Update('G', ('G',), g_loss)),
        latent_dim=zd)
