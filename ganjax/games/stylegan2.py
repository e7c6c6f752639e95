"""The StyleGAN2 game (Karras et al. 2020): non-saturating loss, lazy R1, lazy path-length regularisation.

Four updates per step, in order (``config.style`` holds every setting):

* ``D``: ``softplus(D(G(z))) + softplus(-D(x))`` on reals and a fake batch, each through D in its own
  call (minibatch standard deviation groups reals with reals, fakes with fakes).
* ``D_reg`` every ``r1_every`` steps: R1, ``r1_gamma / 2 * E|grad_x D(x)|^2`` on reals.
* ``G``: ``softplus(-D(G(z)))``; moves the tracked ``w_avg`` (the generator's ``style`` collection).
* ``G_reg`` every ``pl_every`` steps: path-length regularisation on ``n // pl_batch_shrink`` latents,
  ``pl_weight * E(|J_w^T y| - a)^2`` with ``y ~ N(0, I) / sqrt(H W)`` in image space and the running mean
  ``a`` (``extra['pl_mean']``) moved ``pl_decay`` of the way to the batch mean each time it runs.

The step engine scales a lazy update's loss by its interval and skips it (no optimiser step, state
unchanged) on other steps, so a run killed inside an interval resumes bit-identically. Every fake batch
mixes styles: a second latent takes over from a cut-off drawn from the update's key
(:func:`ganjax.models.style.mixing_cutoff`: a traced integer, not a static argument, so one compiled
step serves every cut-off). Noise inputs draw from the update's key through Flax's ``'noise'`` stream.
The reference's lazy-regularisation correction of the optimiser (``c = k / (k + 1)``) is applied to the
learning rates (``lr * c``) but not to Adam's betas, which ganjax's optimiser config shares between
networks; with ``b1 = 0`` only ``b2`` differs (0.99 vs 0.99^c ~ 0.9906 for R1's interval of 16).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update
from ganjax.models.style import mixing_cutoff, resolve_form
from ganjax.models.layers import resolve_impl
from ganjax.models.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator

softplus = jax.nn.softplus


def noise_key(ctx: Context, key: jax.Array) -> jax.Array:
    """The noise inputs' key: under ``pmap`` one per device (the noise is per pixel and per example)."""
    return jax.random.fold_in(key, lax.axis_index(ctx.axis_name)) if ctx.axis_name else key


def run_generator(ctx: Context, params, key: jax.Array, n: int, latent_dim: int, num_ws: int,
                  mixing_prob: float, *, method: str | None = None, ws: jax.Array | None = None):
    """``(output, style collection)`` of G on ``n`` fresh latents mixed at a cut-off drawn from ``key``.

    ``method='styles'`` returns the mixed ``ws`` instead of images; ``ws`` given skips the mapping. Shared
    by the StyleGAN and StyleGAN2 games.
    """
    k_z, k_z2, k_cut, k_noise = jax.random.split(key, 4)
    z, z2 = ctx.normal(k_z, (n, latent_dim)), ctx.normal(k_z2, (n, latent_dim))
    cutoff = mixing_cutoff(k_cut, num_ws, mixing_prob)
    module, cols = ctx.networks['G'].module, ctx.collections['G']
    kwargs = {'ws': ws} if ws is not None else {'z2': z2, 'cutoff': cutoff}
    out, updated = module.apply({'params': params, **cols}, z, None, train=True, mutable=list(cols),
                                rngs={'noise': noise_key(ctx, k_noise)}, method=method, **kwargs)
    return out, {**cols, **updated}


def path_lengths(synthesize: Callable[[jax.Array], jax.Array], ws: jax.Array, y: jax.Array) -> jax.Array:
    """``|J^T y|`` per example, ``J`` the Jacobian of ``synthesize`` at ``ws (n, num_ws, w_dim)``: the norm
    over ``w_dim`` of the gradient, root-mean-squared over the ``num_ws`` copies of w (the reference)."""
    g = jax.grad(lambda v: jnp.sum(synthesize(v) * y))(ws)
    return jnp.sqrt(jnp.mean(jnp.sum(jnp.square(g), axis=2), axis=1))


def path_length_penalty(lengths: jax.Array, pl_mean: jax.Array, decay: float,
                        mean: Callable = lambda t: t) -> tuple[jax.Array, jax.Array]:
    """``(E(|J^T y| - a')^2, a')`` with ``a' = a + decay (mean(lengths) - a)``, ``a'`` held constant."""
    new_mean = lax.stop_gradient(pl_mean + decay * (mean(jnp.mean(lengths)) - pl_mean))
    return jnp.mean(jnp.square(lengths - new_mean)), new_mean


def r1_penalty(d_fn: Callable[[jax.Array], jax.Array], real: jax.Array) -> jax.Array:
    """``E |grad_x D(x)|^2`` over the real batch (Mescheder et al. 2018)."""
    g = jax.grad(lambda v: jnp.sum(d_fn(v)))(real)
    return jnp.mean(jnp.sum(jnp.square(g).reshape(g.shape[0], -1), axis=1))


def lazy_ratio(every: int) -> float:
    """The reference's learning-rate correction for a network regularised every ``every`` steps."""
    return every / (every + 1) if every > 1 else 1.0


def check_style(s) -> None:
    for key in ('r1_every', 'pl_every', 'pl_batch_shrink', 'mapping_layers', 'w_dim'):
        if int(s[key]) < 1:
            raise ConfigError(f'style.{key} must be >= 1, got {s[key]}')
    for key in ('r1_gamma', 'pl_weight'):
        if float(s[key]) < 0:
            raise ConfigError(f'style.{key} must be >= 0, got {s[key]}')
    if not 0 <= float(s.mixing_prob) <= 1 or not 0 < float(s.pl_decay) <= 1:
        raise ConfigError('style.mixing_prob must be in [0, 1] and style.pl_decay in (0, 1]')


def check_images(spec, game: str) -> None:
    if spec.num_classes:
        raise ConfigError(f'the {game} game is unconditional (set data.conditional=False)')
    if len(spec.example_shape) != 3:
        raise ConfigError(f'the {game} game is for images, got examples of shape {spec.example_shape}')


def build(config, spec, axis_name: str | None = None) -> Game:
    s, m = config.style, config.model
    check_images(spec, 'stylegan2')
    impl, form = m.conv_impl, resolve_form(s.modconv_form)
    resolve_impl(impl)  # checks the name now, not inside a trace
    generator = StyleGAN2Generator(tuple(spec.example_shape), int(m.width), int(s.w_dim), int(s.mapping_layers),
                                   float(s.mapping_lr_mul), float(s.w_avg_beta), form=form, impl=impl)
    discriminator = StyleGAN2Discriminator(tuple(spec.example_shape), int(m.width), int(s.mbstd_group), impl)
    return style_game(config, spec, generator, discriminator)


def style_game(config, spec, generator, discriminator) -> Game:
    """The game of this module's docstring for a style-based ``generator`` (the StyleGAN2 interface:
    ``z2``/``cutoff``/``ws`` keywords, a ``styles`` method, ``num_ws``) and a ``discriminator``; the
    StyleGAN (v1) game is this one with its own networks and no path-length term."""
    s, m, t = config.style, config.model, config.train
    check_style(s)
    zd, num_ws, prob = int(m.latent_dim), generator.num_ws, float(s.mixing_prob)
    gamma, pl_weight, decay = float(s.r1_gamma), float(s.pl_weight), float(s.pl_decay)
    shrink = int(s.pl_batch_shrink)

    def d_out(ctx: Context, params, x):
        return ctx.apply('D', params['D'], x, None, train=True, mutable=False)[0]['logits']

    def d_loss(params, ctx: Context):
        real = ctx.batch['x']
        fake, _ = run_generator(ctx, params['G'], ctx.key, real.shape[0], zd, num_ws, prob)
        r, f = d_out(ctx, params, real), d_out(ctx, params, lax.stop_gradient(fake))
        loss = jnp.mean(softplus(f)) + jnp.mean(softplus(-r))
        return loss, {'metrics': {'d_loss': loss, 'd_real': jnp.mean(r), 'd_fake': jnp.mean(f)}}

    def r1_loss(params, ctx: Context):
        pen = r1_penalty(lambda v: d_out(ctx, params, v), ctx.batch['x'])
        return 0.5 * gamma * pen, {'metrics': {'r1': pen}}

    def g_loss(params, ctx: Context):
        fake, cols = run_generator(ctx, params['G'], ctx.key, ctx.batch['x'].shape[0], zd, num_ws, prob)
        loss = jnp.mean(softplus(-d_out(ctx, params, fake)))
        return loss, {'metrics': {'g_loss': loss}, 'collections': {'G': cols}}

    def pl_loss(params, ctx: Context):
        n = max(ctx.batch['x'].shape[0] // shrink, 1)
        k_ws, k_syn, k_y = jax.random.split(ctx.key, 3)
        ws, _ = run_generator(ctx, params['G'], k_ws, n, zd, num_ws, prob, method='styles')
        synth = lambda v: run_generator(ctx, params['G'], k_syn, n, zd, num_ws, prob, ws=v)[0]
        h, w = spec.example_shape[:2]
        y = ctx.normal(k_y, (n, *spec.example_shape)) / jnp.sqrt(float(h * w))
        lengths = path_lengths(synth, ws, y)
        pen, new_mean = path_length_penalty(lengths, ctx.extra['pl_mean'], decay, ctx.mean)
        return pl_weight * pen, {'metrics': {'pl_penalty': pen, 'pl_mean': new_mean}, 'extra': {'pl_mean': new_mean}}

    r1_every, pl_every = int(s.r1_every), int(s.pl_every)
    updates = [Update('D', ('D',), d_loss)]
    if gamma > 0:
        updates.append(Update('D_reg', ('D',), r1_loss, every=r1_every))
    updates.append(Update('G', ('G',), g_loss))
    if pl_weight > 0:
        updates.append(Update('G_reg', ('G',), pl_loss, every=pl_every))
    d_ratio = lazy_ratio(r1_every) if gamma > 0 else 1.0
    g_ratio = lazy_ratio(pl_every) if pl_weight > 0 else 1.0
    return Game(
        networks={'G': Network(generator, (jnp.zeros((2, zd), jnp.float32), None), OptimizerSpec(t.g_lr * g_ratio),
                               ema=True),
                  'D': Network(discriminator, (jnp.zeros((4, *spec.example_shape), jnp.float32), None),
                               OptimizerSpec(t.d_lr * d_ratio))},
        updates=tuple(updates), sampler='G', latent_dim=zd, latent_dist='normal',
        init_extra=lambda: {'pl_mean': jnp.zeros((), jnp.float32)})
