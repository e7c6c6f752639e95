"""Pix2Pix (Isola et al. 2017): a conditional GAN from input images to target images, plus an L1 term.

Paired batches ``{'a': input, 'x': target}`` (:mod:`ganjax.data.paired`). The U-Net ``G(a, keys)`` (its
noise is dropout, masks from per-example keys drawn from the update's key) and the PatchGAN ``D(x, a)``
that judges (input, output) pairs patch by patch (:mod:`ganjax.models.pix2pix`). With the loss of
``loss.name`` (the paper's: ``non_saturating``), per update:

* D: ``0.5 * d_loss(D(b, a), D(G(a), a))`` (the paper halves D's objective to slow D relative to G);
* G: ``translation.gan_weight * g_loss(D(G(a), a)) + translation.l1_weight * mean |G(a) - b|`` (lambda 100).

``translation.gan_weight = 0`` is the L1-only baseline: the same U-Net with no discriminator at all. The
paper's optimiser is Adam, lr 2e-4, beta1 0.5 (experiments/pix2pix_*.py). The sampler's inputs
(:meth:`Game.draw_latents`) are the evaluation split's input images, so the train loop's pictures and FID
are translations of held-out inputs.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ganjax import losses, models
from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update


def evaluation_inputs(config) -> Callable[[jax.Array, int], jax.Array]:
    """``(key, n) -> n`` input images of the evaluation split, in order (cycled), loaded on first use.

    The key is ignored: translating fixed held-out inputs is what makes a run's pictures comparable. Only
    the impure edges (the train loop's evaluation, ganjax.translate) call this, never the step."""
    cache: dict[str, np.ndarray] = {}

    def draw(key: jax.Array, n: int) -> jax.Array:
        del key
        if 'a' not in cache:
            from ganjax.data.paired import evaluation_domains

            a = evaluation_domains(config.data).a
            cache['a'] = a.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
        a = cache['a']
        return jnp.asarray(a[np.arange(n) % len(a)])

    return draw


def dropout_keys(ctx: Context, key: jax.Array, n: int) -> jax.Array:
    """One PRNG key per example (this device's slice of the global batch's keys under pmap)."""
    return ctx.draw(lambda k, shape: jax.random.split(k, shape[0]), key, (n,))


def translation_models(config, spec, axis_name):
    """``(generator, discriminator)`` of ``config.model`` for image-to-image games, checked to be such."""
    if len(spec.example_shape) != 3:
        raise ConfigError(f'translation games need images, got examples of shape {spec.example_shape}')
    g, d = models.get_models(config.model, spec.example_shape, 0, bn_axis_name=axis_name)
    if 'patch_layers' not in d.__dataclass_fields__:
        raise ConfigError(f"game {config.game.name!r} needs a translation model (model.name=pix2pix or "
                          f"cyclegan), got {config.model.name!r}")
    return g, d.clone(patch_layers=int(config.translation.patch_layers))


def build(config, spec, axis_name: str | None = None) -> Game:
    tr = config.translation
    gan_w, l1_w = float(tr.gan_weight), float(tr.l1_weight)
    if config.data.pairing != 'paired':
        raise ConfigError(f"pix2pix needs paired data (data.pairing='paired'), got {config.data.pairing!r}")
    if gan_w < 0 or l1_w < 0 or gan_w + l1_w == 0 or not 0 <= tr.dropout < 1:
        raise ConfigError('pix2pix needs translation.gan_weight >= 0, translation.l1_weight >= 0, not both 0, '
                          'and 0 <= translation.dropout < 1')
    if config.penalty.name != 'none':
        raise ConfigError('the pix2pix game takes no penalty (set penalty.name=none)')
    generator, discriminator = translation_models(config, spec, axis_name)
    if 'dropout' not in generator.__dataclass_fields__:
        raise ConfigError(f'pix2pix needs the U-Net generator (model.name=pix2pix), got {config.model.name!r}')
    generator = generator.clone(dropout=float(tr.dropout))
    gan_loss = losses.get_loss(config.loss.name, config.loss.label_smoothing)

    def translate(params, ctx: Context, key: jax.Array) -> jax.Array:
        a = ctx.batch['a']
        return ctx.apply('G', params['G'], a, dropout_keys(ctx, key, a.shape[0]), train=True)[0]

    def d_loss(params, ctx: Context):
        a, b = ctx.batch['a'], ctx.batch['x']
        fake = lax.stop_gradient(translate(params, ctx, ctx.key))
        real_out = ctx.apply('D', params['D'], b, a)[0]['logits']
        fake_out = ctx.apply('D', params['D'], fake, a)[0]['logits']
        loss = 0.5 * gan_loss.d_loss(real_out, fake_out)
        return loss, {'metrics': {'d_loss': loss}}

    def g_loss(params, ctx: Context):
        a, b = ctx.batch['a'], ctx.batch['x']
        fake = translate(params, ctx, ctx.key)
        l1 = jnp.mean(jnp.abs(fake - b))
        metrics = {'l1': l1}
        total = l1_w * l1
        if gan_w:
            fake_out = ctx.apply('D', params['D'], fake, a)[0]['logits']
            real_out = (ctx.apply('D', params['D'], b, a)[0]['logits'] if gan_loss.needs_real_for_g
                        else jnp.zeros_like(fake_out))
            adv = gan_loss.g_loss(real_out, fake_out)
            metrics['g_loss'] = adv
            total = total + gan_w * adv
        return total, {'metrics': metrics}

    t = config.train
    example = jnp.zeros((2, *spec.example_shape), jnp.float32)
    networks = {'G': Network(generator, (example, None), OptimizerSpec(t.g_lr), ema=True)}
    updates = (Update('G', ('G',), g_loss),)
    if gan_w:
        networks['D'] = Network(discriminator, (example, example), OptimizerSpec(t.d_lr))
        updates = (Update('D', ('D',), d_loss),) + updates
    return Game(networks=networks, updates=updates, latents=evaluation_inputs(config))
