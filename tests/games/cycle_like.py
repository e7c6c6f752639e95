"""CycleGAN-shaped: four networks in two pairs; the generator update trains both generators at once.

Domain A is the data; domain B is the same points rotated by 90 degrees and scaled by 2 (a per-example
map, so each device keeps its own examples). ``G_ab``/``G_ba`` translate between them, ``D_a``/``D_b``
judge each domain with the least-squares loss, and a cycle term ``|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b))
- b|`` ties the pair together (Zhu et al. 2017). The generators' update runs first, then the
discriminators'.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from ganjax.games import Game, Network, OptimizerSpec, Update
from tests.games import Net, zeros

CYCLE_WEIGHT = 10.0
ROTATE = jnp.array([[0.0, -2.0], [2.0, 0.0]])


def build(config, spec, axis_name=None) -> Game:
    dim, w, t = spec.example_shape[0], config.model.width, config.train

    def domains(ctx):
        a = ctx.batch['x']
        return a, a @ ROTATE

    def g_loss(params, ctx):
        a, b = domains(ctx)
        run = lambda name, x: ctx.apply(name, params[name], x)[0]
        fake_b, fake_a = run('G_ab', a), run('G_ba', b)
        adv = jnp.mean((run('D_b', fake_b)['logits'] - 1) ** 2) + jnp.mean((run('D_a', fake_a)['logits'] - 1) ** 2)
        cycle = jnp.mean(jnp.abs(run('G_ba', fake_b) - a)) + jnp.mean(jnp.abs(run('G_ab', fake_a) - b))
        return adv + CYCLE_WEIGHT * cycle, {'metrics': {'g_loss': adv, 'cycle': cycle}}

    def d_loss(params, ctx):
        a, b = domains(ctx)
        run = lambda name, x: ctx.apply(name, params[name], x)[0]
        fake_b, fake_a = lax.stop_gradient(run('G_ab', a)), lax.stop_gradient(run('G_ba', b))
        ls = lambda d, real, fake: 0.5 * (jnp.mean((run(d, real)['logits'] - 1) ** 2)
                                          + jnp.mean(run(d, fake)['logits'] ** 2))
        loss = ls('D_a', a, fake_a) + ls('D_b', b, fake_b)
        return loss, {'metrics': {'d_loss': loss}}

    gen = lambda: Network(Net(dim, w), (zeros(2, dim),), OptimizerSpec(t.g_lr), ema=True)
    disc = lambda: Network(Net(1, w, 'logits'), (zeros(2, dim),), OptimizerSpec(t.d_lr))
    return Game(networks={'G_ab': gen(), 'G_ba': gen(), 'D_a': disc(), 'D_b': disc()},
                updates=(Update('G', ('G_ab', 'G_ba'), g_loss), Update('D', ('D_a', 'D_b'), d_loss)),
                sampler='G_ab', latent_dim=dim)
