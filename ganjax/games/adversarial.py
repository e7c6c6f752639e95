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

Stabilisers (``config.stabilise``; :mod:`ganjax.stabilisers`) compose here: what D sees of a batch is
``view(x)`` (DiffAugment or ADA, then PacGAN packing), in both updates; the D update may mix replayed
fakes in and adds bCR and historical averaging; the G update may score G by an unrolled D and adds
feature matching, mode seeking and historical averaging. Their new draws come from ``fold_in(key, tag)``
so that a run without them draws exactly what it drew before they existed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax import lax

from ganjax import augment, losses, models, penalties, stabilisers
from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update, interleave
from ganjax.state import latent_sampler


def build(config, spec, axis_name: str | None = None) -> Game:
    gan_loss = losses.get_loss(config.loss.name, config.loss.label_smoothing)
    penalty = penalties.get_penalty(config.penalty)
    d_steps = int(config.train.d_steps)
    if d_steps < 1:
        raise ConfigError(f'train.d_steps must be >= 1, got {d_steps}')
    st = stabilisers.from_config(config)
    m = st.pack
    if m > 1 and spec.num_classes:
        raise ConfigError('stabilise.pack > 1 is for unconditional data (a pack would mix classes)')
    if (st.diffaugment or st.ada or st.consistency) and len(spec.example_shape) != 3:
        raise ConfigError('stabilise.diffaugment, ada_target and consistency augment images; the data are '
                          f'examples of shape {spec.example_shape}')
    generator, discriminator = models.get_models(config.model, spec.example_shape, spec.num_classes,
                                                 bn_axis_name=axis_name)
    d_shape = stabilisers.packed_shape(spec.example_shape, m)
    if m > 1:  # D built for m times the channels (features)
        discriminator = models.get_models(config.model, d_shape, spec.num_classes, bn_axis_name=axis_name)[1]
    generator, discriminator = stabilisers.configure_models(st, generator, discriminator, config.model.name)
    if penalty.active and discriminator.cross_example_state:
        raise ConfigError('gradient penalties need a discriminator without cross-example state such as '
                          'batch norm (set model.d_batch_norm=False or penalty.name=none)')
    if config.penalty.g_orthogonal < 0 or config.loss.aux_weight < 0:
        raise ConfigError('penalty.g_orthogonal and loss.aux_weight must be >= 0')
    g_ortho, aux_weight = float(config.penalty.g_orthogonal), float(config.loss.aux_weight)
    aux_fake = bool(config.loss.get('aux_fake', True))
    latent_dim, latent_dist = int(config.model.latent_dim), config.model.latent_dist
    draw_latent = latent_sampler(latent_dist)

    def latents(ctx: Context, key, n: int):
        return ctx.draw(draw_latent, key, (n, latent_dim))

    def fake_batch(ctx: Context, params, key, n: int, labels):
        fake, _ = ctx.apply('G', params['G'], latents(ctx, key, n), labels, train=True)
        return fake

    def augmented(ctx: Context, x, key):
        """DiffAugment or ADA (with the current p) of examples, or them as they are."""
        if st.diffaugment:
            return augment.diffaugment(x, st.diffaugment, key, ctx.draw)
        if st.ada:
            return augment.ada(x, ctx.extra['ada']['p'], key, ctx.draw)
        return x

    def d_outputs(ctx: Context, p, real_v, fake_v, labels, collections=None):
        """D on a real and a fake batch (as D sees them): ``(out_real, out_fake, collections)``."""
        if discriminator.cross_example_state:
            out_r, cols = ctx.apply('D', p, real_v, labels, train=True, collections=collections)
            out_f, cols = ctx.apply('D', p, fake_v, labels, train=True, collections=cols)
            return out_r, out_f, cols
        both_labels = None if labels is None else interleave(labels, labels)
        out, cols = ctx.apply('D', p, interleave(real_v, fake_v), both_labels, train=True, collections=collections)
        return jax.tree.map(lambda a: a[0::2], out), jax.tree.map(lambda a: a[1::2], out), cols

    def historical(params, ctx: Context, name: str, value, metrics):
        """Historical averaging of network ``name``: the penalty added, the running mean moved on."""
        hist = ctx.extra[f'history_{name}']
        pen = stabilisers.historical_penalty(params[name], hist)
        update = {f'history_{name}': stabilisers.historical_update(params[name], hist)}
        return value + st.historical_averaging * pen, {**metrics, f'{name}_historical': pen}, update

    def d_loss(params, ctx: Context):
        real, labels = ctx.batch['x'], ctx.batch.get('label')
        k_z, k_pen = jax.random.split(ctx.key)
        fake = lax.stop_gradient(fake_batch(ctx, params, k_z, real.shape[0], labels))
        new_extra = {}
        if st.replay:
            offset = lax.axis_index(ctx.axis_name) * real.shape[0] if ctx.axis_name else 0
            fakes = lax.all_gather(fake, ctx.axis_name, tiled=True) if ctx.axis_name else fake
            replay = ctx.extra['replay']
            fake = stabilisers.replay_mix(fake, replay, st.replay_fraction, jax.random.fold_in(ctx.key, 1),
                                          offset, ctx.draw)
            new_extra['replay'] = stabilisers.replay_store(replay, fakes)
        k_r, k_f = jax.random.split(jax.random.fold_in(ctx.key, 2))
        real_a, fake_a = augmented(ctx, real, k_r), augmented(ctx, fake, k_f)
        p = params['D']
        out_r, out_f, cols = d_outputs(ctx, p, stabilisers.pack(real_a, m), stabilisers.pack(fake_a, m), labels)
        r, f = out_r['logits'], out_f['logits']
        adv = gan_loss.d_loss(r, f)
        metrics = {'d_loss': adv}
        if 'cls' in out_r:  # AC-GAN: D also learns to classify real (and, as in the paper, fake) examples
            cls = losses.auxiliary_classifier(out_r['cls'], labels)
            if aux_fake:
                cls = cls + losses.auxiliary_classifier(out_f['cls'], labels)
            adv, metrics = adv + aux_weight * cls, {**metrics, 'd_cls': cls}
        if st.consistency:  # bCR: D's outputs unmoved by a (flip and) translation of what it sees
            k_tr, k_tf = jax.random.split(jax.random.fold_in(ctx.key, 3))
            seen = lambda v, k: stabilisers.pack(stabilisers.bcr_transform(v, k, ctx.draw, st.consistency_flip), m)
            t_r, t_f, cols = d_outputs(ctx, p, seen(real_a, k_tr), seen(fake_a, k_tf), labels, cols)
            cr = stabilisers.consistency(r, t_r['logits']) + stabilisers.consistency(f, t_f['logits'])
            adv, metrics = adv + st.consistency * cr, {**metrics, 'd_consistency': cr}
        if st.ada:  # Karras et al. 2020: p follows the sign of D on the real images
            n_dev = lax.psum(1, ctx.axis_name) if ctx.axis_name else 1
            sign = ctx.mean(jnp.mean(jnp.sign(lax.stop_gradient(r))))
            new_extra['ada'] = stabilisers.ada_adjust(ctx.extra['ada'], sign, real.shape[0] * n_dev, st.ada_target,
                                                      st.ada_interval, st.ada_kimg)
            metrics = {**metrics, 'ada_p': ctx.extra['ada']['p']}
        if st.historical_averaging:
            adv, metrics, upd = historical(params, ctx, 'D', adv, metrics)
            new_extra.update(upd)
        pen = jnp.zeros((), adv.dtype)
        if penalty.active:
            d_fn = lambda v: ctx.apply('D', p, v, labels, train=True, collections=cols, mutable=False)[0]['logits']
            real_p, fake_p = stabilisers.pack(real_a, m), stabilisers.pack(fake_a, m)
            compute = lambda: penalty.fn(d_fn, real_p, fake_p, k_pen, ctx.uniform)
            if penalty.every == 1:
                pen = compute()
            else:
                pen = lax.cond(ctx.index % penalty.every == 0, lambda: penalty.every * compute(),
                               lambda: jnp.zeros((), adv.dtype))
        metrics = {**metrics, 'penalty': pen, 'd_real': jnp.mean(r), 'd_fake': jnp.mean(f)}
        return adv + penalty.weight * pen, {'metrics': metrics, 'collections': {'D': cols}, 'extra': new_extra}

    def unrolled(ctx: Context, d_params, real_v, fake_v, labels):
        """D's parameters after ``unrolled_steps`` steps of its optimiser on these batches (Metz et al.
        2017), differentiable in ``fake_v`` and so in G."""
        opt = ctx.opt_states['D']
        for _ in range(st.unrolled_steps):
            def adversarial(dp):
                out_r, out_f, _ = d_outputs(ctx, dp, real_v, fake_v, labels)
                return gan_loss.d_loss(out_r['logits'], out_f['logits'])
            grads = ctx.mean(jax.grad(adversarial)(d_params))
            updates, opt = ctx.optimizers['D'].update(grads, opt, d_params)
            d_params = optax.apply_updates(d_params, updates)
        return d_params

    def g_loss(params, ctx: Context):
        real, labels = ctx.batch['x'], ctx.batch.get('label')
        z = latents(ctx, ctx.key, real.shape[0])
        fake, g_cols = ctx.apply('G', params['G'], z, labels, train=True)
        k_r, k_f = jax.random.split(jax.random.fold_in(ctx.key, 2))
        fake_v = stabilisers.pack(augmented(ctx, fake, k_f), m)
        need_real = gan_loss.needs_real_for_g or st.feature_matching or st.unrolled_steps
        real_v = stabilisers.pack(augmented(ctx, real, k_r), m) if need_real else None
        p_d = params['D']
        if st.unrolled_steps:
            p_d = unrolled(ctx, p_d, real_v, fake_v, labels)
        out_f = ctx.apply('D', p_d, fake_v, labels, train=True)[0]
        f = out_f['logits']
        r, out_r = jnp.zeros_like(f), None
        if need_real:
            out_r = ctx.apply('D', p_d, real_v, labels, train=True)[0]
            r = out_r['logits']
        value = gan_loss.g_loss(r, f)
        metrics = {'g_loss': value}
        if 'cls' in out_f:  # AC-GAN: G makes examples D classifies as the class asked for
            cls = losses.auxiliary_classifier(out_f['cls'], labels)
            value, metrics = value + aux_weight * cls, {**metrics, 'g_cls': cls}
        if g_ortho:
            ortho = penalties.orthogonal(params['G'])
            value, metrics = value + g_ortho * ortho, {**metrics, 'g_orthogonal': ortho}
        if st.feature_matching:
            fm = stabilisers.feature_matching(lax.stop_gradient(out_r['features']), out_f['features'], ctx.mean)
            value, metrics = value + st.feature_matching * fm, {**metrics, 'g_feature_matching': fm}
        if st.mode_seeking:
            z2 = latents(ctx, jax.random.fold_in(ctx.key, 4), real.shape[0])
            fake2 = ctx.apply('G', params['G'], z2, labels, train=True)[0]
            ms = stabilisers.mode_seeking(fake, fake2, z, z2, ctx.mean)
            value, metrics = value + st.mode_seeking * ms, {**metrics, 'g_mode_seeking': ms}
        new_extra = {}
        if st.historical_averaging:
            value, metrics, new_extra = historical(params, ctx, 'G', value, metrics)
        return value, {'metrics': metrics, 'collections': {'G': g_cols}, 'extra': new_extra}

    def init_extra() -> dict:
        """The stabilisers' state: replay buffer, ADA's p, historical means of both networks' parameters."""
        extra = {}
        if st.replay:
            extra['replay'] = stabilisers.replay_init(st.replay_size, spec.example_shape)
        if st.ada:
            extra['ada'] = stabilisers.ada_init()
        if st.historical_averaging:
            for name, net in networks.items():
                shapes = jax.eval_shape(lambda: net.module.init(jax.random.PRNGKey(0), *net.init_args, train=False))
                extra[f'history_{name}'] = stabilisers.historical_init(
                    jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shapes['params']))
        return extra

    t = config.train
    labels = jnp.zeros((2,), jnp.int32) if spec.num_classes else None
    networks = {
        'G': Network(generator, (jnp.zeros((2, latent_dim), jnp.float32), labels), OptimizerSpec(t.g_lr), ema=True),
        'D': Network(discriminator, (jnp.zeros((2, *d_shape), jnp.float32), labels),
                     OptimizerSpec(t.d_lr, d_steps, t.weight_clip)),
    }
    return Game(
        networks=networks,
        updates=(Update('D', ('D',), d_loss, repeat=d_steps), Update('G', ('G',), g_loss)),
        batch_splits=d_steps, sampler='G', latent_dim=latent_dim, latent_dist=latent_dist, init_extra=init_extra)
