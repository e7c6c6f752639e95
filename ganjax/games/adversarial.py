"""The adversarial game: z -> G -> D, one adversarial loss, one discriminator penalty.

Each step runs ``train.d_steps`` discriminator updates (one per sub-batch; the penalty lazily every
``penalty.every`` of them, scaled by that interval), then one generator update on the last sub-batch.
Losses (``loss.name``) and penalties (``penalty.name``) are looked up by name in :mod:`ganjax.losses` and
:mod:`ganjax.penalties`; the networks (``model.name``) in :mod:`ganjax.models`. SNGAN, SAGAN, BigGAN and
conditional GANs are models on this same game; conditioning is the batch's ``label`` (or nothing).

Discriminator update: G (training mode, its own batch statistics left as they were) makes a fake batch
from fresh latents. A discriminator with cross-example state (batch norm) sees the real and the fake
batch in two calls, normalised separately as in DCGAN; any other sees one interleaved batch of both, which
is the same maths in one pass. The penalty calls D as a function of its input with its collections read
only: a spectral-norm discriminator's power iteration then advances once per update (in the adversarial
pass) and the penalty differentiates the function that pass normalised with the vectors it produced.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ganjax import losses, models, penalties
from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update, interleave
from ganjax.state import sample_latent


def build(config, spec, axis_name: str | None = None) -> Game:
    gan_loss = losses.get_loss(config.loss.name, config.loss.label_smoothing)
    penalty = penalties.get_penalty(config.penalty)
    d_steps = int(config.train.d_steps)
    if d_steps < 1:
        raise ConfigError(f'train.d_steps must be >= 1, got {d_steps}')
    generator, discriminator = models.get_models(config.model, spec.example_shape, spec.num_classes,
                                                 bn_axis_name=axis_name)
    if penalty.active and discriminator.cross_example_state:
        raise ConfigError('gradient penalties need a discriminator without cross-example state such as '
                          'batch norm (set model.d_batch_norm=False or penalty.name=none)')
    if config.penalty.g_orthogonal < 0 or config.loss.aux_weight < 0:
        raise ConfigError('penalty.g_orthogonal and loss.aux_weight must be >= 0')
    g_ortho, aux_weight = float(config.penalty.g_orthogonal), float(config.loss.aux_weight)
    latent_dim, latent_dist = int(config.model.latent_dim), config.model.latent_dist
    sample_latent(jax.random.PRNGKey(0), (1, 1), latent_dist)  # checks the name now, not inside a trace

    def latents(ctx: Context, key, n: int):
        return ctx.draw(lambda k, s: sample_latent(k, s, latent_dist), key, (n, latent_dim))

    def fake_batch(ctx: Context, params, key, n: int, labels):
        fake, _ = ctx.apply('G', params['G'], latents(ctx, key, n), labels, train=True)
        return fake

    def d_loss(params, ctx: Context):
        real, labels = ctx.batch['x'], ctx.batch.get('label')
        k_z, k_pen = jax.random.split(ctx.key)
        fake = lax.stop_gradient(fake_batch(ctx, params, k_z, real.shape[0], labels))
        p = params['D']
        if discriminator.cross_example_state:
            out_r, cols = ctx.apply('D', p, real, labels, train=True)
            out_f, cols = ctx.apply('D', p, fake, labels, train=True, collections=cols)
        else:
            both_labels = None if labels is None else interleave(labels, labels)
            out, cols = ctx.apply('D', p, interleave(real, fake), both_labels, train=True)
            out_r, out_f = jax.tree.map(lambda a: a[0::2], out), jax.tree.map(lambda a: a[1::2], out)
        r, f = out_r['logits'], out_f['logits']
        adv = gan_loss.d_loss(r, f)
        metrics = {'d_loss': adv}
        if 'cls' in out_r:  # AC-GAN: D also learns to classify real and fake examples
            cls = losses.auxiliary_classifier(out_r['cls'], labels) + losses.auxiliary_classifier(out_f['cls'], labels)
            adv, metrics = adv + aux_weight * cls, {**metrics, 'd_cls': cls}
        pen = jnp.zeros((), adv.dtype)
        if penalty.active:
            d_fn = lambda v: ctx.apply('D', p, v, labels, train=True, collections=cols, mutable=False)[0]['logits']
            compute = lambda: penalty.fn(d_fn, real, fake, k_pen, ctx.uniform)
            if penalty.every == 1:
                pen = compute()
            else:
                pen = lax.cond(ctx.index % penalty.every == 0, lambda: penalty.every * compute(),
                               lambda: jnp.zeros((), adv.dtype))
        metrics = {**metrics, 'penalty': pen, 'd_real': jnp.mean(r), 'd_fake': jnp.mean(f)}
        return adv + penalty.weight * pen, {'metrics': metrics, 'collections': {'D': cols}}

    def g_loss(params, ctx: Context):
        real, labels = ctx.batch['x'], ctx.batch.get('label')
        z = latents(ctx, ctx.key, real.shape[0])
        fake, g_cols = ctx.apply('G', params['G'], z, labels, train=True)
        out_f = ctx.apply('D', params['D'], fake, labels, train=True)[0]
        f = out_f['logits']
        r = jnp.zeros_like(f)
        if gan_loss.needs_real_for_g:
            r = ctx.apply('D', params['D'], real, labels, train=True)[0]['logits']
        value = gan_loss.g_loss(r, f)
        metrics = {'g_loss': value}
        if 'cls' in out_f:  # AC-GAN: G makes examples D classifies as the class asked for
            cls = losses.auxiliary_classifier(out_f['cls'], labels)
            value, metrics = value + aux_weight * cls, {**metrics, 'g_cls': cls}
        if g_ortho:
            ortho = penalties.orthogonal(params['G'])
            value, metrics = value + g_ortho * ortho, {**metrics, 'g_orthogonal': ortho}
        return value, {'metrics': metrics, 'collections': {'G': g_cols}}

    t = config.train
    labels = jnp.zeros((2,), jnp.int32) if spec.num_classes else None
    return Game(
        networks={
            'G': Network(generator, (jnp.zeros((2, latent_dim), jnp.float32), labels),
                         OptimizerSpec(t.g_lr), ema=True),
            'D': Network(discriminator, (jnp.zeros((2, *spec.example_shape), jnp.float32), labels),
                         OptimizerSpec(t.d_lr, d_steps, t.weight_clip)),
        },
        updates=(Update('D', ('D',), d_loss, repeat=d_steps), Update('G', ('G',), g_loss)),
        batch_splits=d_steps, sampler='G', latent_dim=latent_dim, latent_dist=latent_dist)
