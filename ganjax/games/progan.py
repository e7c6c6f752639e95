"""The ProGAN game (Karras et al. 2018): WGAN-GP with the drift term, progressive growing with fade-in.

The stage and fade-in weight ``alpha`` follow from the step (:func:`ganjax.models.progan.stage_schedule`,
``style.stage_steps`` steps per fade and per stable phase); every loss runs its networks through
``lax.switch`` on the stage index, so one compiled step serves the whole schedule and the parameters a
stage trained are the ones the next stage starts from. ``extra`` holds the ``stage`` and ``alpha`` the
step trained with (written by the G update), checkpointed with the state: a run killed during a fade-in
resumes with the same alpha, bit-identically.

Updates (``train.d_steps`` = 1 in the paper): D on ``E D(G(z)) - E D(x) + penalty.weight * GP +
style.drift * E D(x)^2`` (GP = WGAN-GP's ``E(|grad D(x_hat)| - 1)^2``, ``penalty.name='wgan_gp'``), with
the real images average-pooled to the stage's resolution (then nearest-upsampled back, which the
discriminator's pooling undoes exactly); G on ``-E D(G(z))``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ganjax import penalties
from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update
from ganjax.models.layers import resolve_impl
from ganjax.models.progan import ProGANDiscriminator, ProGANGenerator, avg_pool, stage_schedule, upsample_nearest


def build(config, spec, axis_name: str | None = None) -> Game:
    s, m, t = config.style, config.model, config.train
    if spec.num_classes or len(spec.example_shape) != 3:
        raise ConfigError('the progan game is for unconditional images (set data.conditional=False)')
    penalty = penalties.get_penalty(config.penalty)
    stage_steps, drift = int(s.stage_steps), float(s.drift)
    if stage_steps < 1 or drift < 0:
        raise ConfigError('style.stage_steps must be >= 1 and style.drift >= 0')
    impl = m.conv_impl
    resolve_impl(impl)  # checks the name now, not inside a trace
    generator = ProGANGenerator(tuple(spec.example_shape), int(m.width), impl)
    discriminator = ProGANDiscriminator(tuple(spec.example_shape), int(m.width), int(s.mbstd_group), impl)
    stages, zd = generator.num_stages, int(m.latent_dim)
    full = spec.example_shape[0]

    def staged(module, variables, stage, *args):
        """``module`` at the traced ``stage`` through ``lax.switch``, ``alpha`` last in ``args``."""
        branches = [lambda v, *a, i=i: module.apply(v, *a[:-1], None, train=True, stage=i, alpha=a[-1])
                    for i in range(stages)]
        return lax.switch(stage, branches, variables, *args)

    def generate(ctx: Context, params, key, n, stage, alpha):
        return staged(generator, {'params': params['G']}, stage, ctx.normal(key, (n, zd)), alpha)

    def critic(params, stage, alpha):
        return lambda x: staged(discriminator, {'params': params['D']}, stage, x, alpha)['logits']

    def d_loss(params, ctx: Context):
        stage, alpha = stage_schedule(ctx.step, stage_steps, stages)
        k_z, k_pen = jax.random.split(ctx.key)
        real = ctx.batch['x']
        pooled = lax.switch(stage, [lambda x, i=i: upsample_nearest(avg_pool(x, 2 ** (stages - 1 - i)),
                                                                      2 ** (stages - 1 - i))
                                    for i in range(stages)], real)
        fake = lax.stop_gradient(generate(ctx, params, k_z, real.shape[0], stage, alpha))
        d_fn = critic(params, stage, alpha)
        r, f = d_fn(pooled), d_fn(fake)
        wass = jnp.mean(f) - jnp.mean(r)
        gp = penalty.fn(d_fn, pooled, fake, k_pen, ctx.uniform) if penalty.active else jnp.zeros(())
        loss = wass + penalty.weight * gp + drift * jnp.mean(jnp.square(r))
        return loss, {'metrics': {'d_loss': loss, 'wasserstein': -wass, 'gp': gp}}

    def g_loss(params, ctx: Context):
        stage, alpha = stage_schedule(ctx.step, stage_steps, stages)
        fake = generate(ctx, params, ctx.key, ctx.batch['x'].shape[0], stage, alpha)
        loss = -jnp.mean(critic(params, stage, alpha)(fake))
        return loss, {'metrics': {'g_loss': loss, 'stage': stage.astype(jnp.float32), 'alpha': alpha},
                      'extra': {'stage': stage, 'alpha': alpha}}

    return Game(
        networks={'G': Network(generator, (jnp.zeros((2, zd), jnp.float32), None), OptimizerSpec(t.g_lr), ema=True),
                  'D': Network(discriminator, (jnp.zeros((2, full, full, spec.example_shape[-1]), jnp.float32), None),
                               OptimizerSpec(t.d_lr))},
        updates=(Update('D', ('D',), d_loss), Update('G', ('G',), g_loss)),
        sampler='G', latent_dim=zd, latent_dist='normal',
        init_extra=lambda: {'stage': jnp.zeros((), jnp.int32), 'alpha': jnp.ones((), jnp.float32)})
