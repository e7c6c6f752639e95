"""The train-step factory: one pure function ``(state, batch) -> (state, metrics)`` per config.

One call does ``train.d_steps`` discriminator updates, then one generator update, then the EMA update.
``batch['x']`` holds ``d_steps * B`` examples (``B`` = per-device batch); critic update ``i`` uses the
examples ``x[j * d_steps + i]``. That interleaving keeps each device's examples on that device when the
batch is sharded on its leading axis.

The critic loop is either unrolled (a Python loop traced ``d_steps`` times) or a ``lax.scan``;
``train.critic_loop='auto'`` scans, except on CPU with XLA's own convolutions (``model.conv_impl='xla'``),
whose scan bodies run several times slower there. With the matmul formulation that ``conv_impl='auto'``
picks on CPU, the scanned loop runs as fast as the unrolled one and compiles ~4x faster
(benchmarks/critic_loop.py, benchmarks/RESULTS_speed.md).

Randomness: the key of step ``t`` is ``fold_in(state.rng, t)``. Under ``pmap`` (``axis_name`` given) each
device draws the whole global batch's latents and noise and keeps its own slice, so devices differ, the
result is deterministic, and it equals a single-device run of the same global batch.

Every update is guarded: if its loss or any gradient is not finite, the old parameters and optimiser state
are kept and ``metrics['nonfinite']`` counts it; the train loop decides whether to stop or go on.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax import lax

from ganjax import losses, penalties
from ganjax.errors import ConfigError
from ganjax.models.layers import resolve_impl
from ganjax.state import GANState, make_optimizers, sample_latent

Batch = dict[str, jax.Array]
Metrics = dict[str, jax.Array]
StepFn = Callable[[GANState, Batch], tuple[GANState, Metrics]]


def apply_model(module: nn.Module, params, collections, *args, train: bool):
    """Call a module; in training mode return its updated collections (batch statistics) too."""
    variables = {'params': params, **collections}
    if train and collections:
        out, updated = module.apply(variables, *args, train=True, mutable=list(collections))
        return out, {**collections, **updated}
    return module.apply(variables, *args, train=train), collections


def resolve_critic_loop(name: str, conv_impl: str = 'auto') -> str:
    if name == 'auto':
        slow_scan = jax.default_backend() == 'cpu' and resolve_impl(conv_impl) == 'xla'
        return 'unroll' if slow_scan else 'scan'
    if name not in ('unroll', 'scan'):
        raise ConfigError(f"unknown train.critic_loop {name!r}; valid: auto, unroll, scan")
    return name


def _all_finite(*trees) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(l)) for t in trees for l in jax.tree.leaves(t)]
    return jnp.all(jnp.stack(leaves))


def _keep_if(ok: jax.Array, new, old):
    return jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)


def make_train_step(config, generator: nn.Module, discriminator: nn.Module, *,
                    axis_name: str | None = None) -> StepFn:
    """Build the (un-jitted) step for ``config``; see :func:`jit_train_step` for the compiled one.

    ``axis_name`` names the device axis when the step runs under ``pmap`` (gradients and metrics are then
    averaged across devices); leave it ``None`` for one device or for jit over a sharded mesh, where XLA
    already computes global-batch means.
    """
    gan_loss = losses.get_loss(config.loss.name, config.loss.label_smoothing)
    penalty = penalties.get_penalty(config.penalty)
    g_tx, d_tx = make_optimizers(config.train)
    d_steps = int(config.train.d_steps)
    if d_steps < 1:
        raise ConfigError(f'train.d_steps must be >= 1, got {d_steps}')
    critic_loop = resolve_critic_loop(config.train.critic_loop, config.model.conv_impl)
    latent_dim = int(config.model.latent_dim)
    latent_dist = config.model.latent_dist
    ema_decay = float(config.train.ema_decay)
    ema_start = int(config.train.ema_start)
    if not 0.0 <= ema_decay < 1.0:
        raise ConfigError(f'train.ema_decay must be in [0, 1), got {ema_decay}')

    def draw(sampler: Callable, key, shape):
        """``sampler(key, shape)`` of the global batch, this device's slice under pmap."""
        if axis_name is None:
            return sampler(key, shape)
        n_dev = lax.psum(1, axis_name)
        full = sampler(key, (n_dev * shape[0], *shape[1:]))
        return lax.dynamic_slice_in_dim(full, lax.axis_index(axis_name) * shape[0], shape[0])

    uniform = lambda key, shape: draw(jax.random.uniform, key, shape)
    latents = lambda key, n: draw(lambda k, s: sample_latent(k, s, latent_dist), key, (n, latent_dim))
    mean_over_devices = (lambda t: lax.pmean(t, axis_name)) if axis_name else (lambda t: t)

    def d_update(state: GANState, d_carry, real, labels, key, index):
        d_params, d_cols, d_opt, bad = d_carry
        k_z, k_pen = jax.random.split(key)
        fake, _ = apply_model(generator, state.g_params, state.g_collections,
                              latents(k_z, real.shape[0]), labels, train=True)
        fake = lax.stop_gradient(fake)

        def loss_fn(params):
            if d_cols:  # batch norm: real and fake batches normalised separately, as in DCGAN
                r, cols = apply_model(discriminator, params, d_cols, real, labels, train=True)
                f, cols = apply_model(discriminator, params, cols, fake, labels, train=True)
            else:  # no cross-example state: one pass over both is the same and faster. Interleaving
                # (real_0, fake_0, real_1, ...) rather than concatenating keeps a batch sharded on its
                # leading axis local to each device.
                pair = lambda a, b: jnp.stack([a, b], axis=1).reshape(2 * a.shape[0], *a.shape[1:])
                both_labels = None if labels is None else pair(labels, labels)
                out, cols = apply_model(discriminator, params, d_cols, pair(real, fake), both_labels, train=True)
                r, f = out[0::2], out[1::2]
            adv = gan_loss.d_loss(r, f)
            pen = jnp.zeros((), adv.dtype)
            if penalty.active:
                d_fn = lambda v: discriminator.apply({'params': params}, v, labels, train=True)
                compute = lambda: penalty.fn(d_fn, real, fake, k_pen, uniform)
                if penalty.every == 1:
                    pen = compute()
                else:
                    pen = lax.cond(index % penalty.every == 0, lambda: penalty.every * compute(),
                                   lambda: jnp.zeros((), adv.dtype))
            return adv + penalty.weight * pen, (cols, adv, pen, jnp.mean(r), jnp.mean(f))

        grads, (cols, adv, pen, mr, mf) = jax.grad(loss_fn, has_aux=True)(d_params)
        grads = mean_over_devices(grads)
        updates, new_opt = d_tx.update(grads, d_opt, d_params)
        new_params = optax.apply_updates(d_params, updates)
        ok = _all_finite(adv, pen, grads)
        carry = (_keep_if(ok, new_params, d_params), _keep_if(ok, cols, d_cols),
                 _keep_if(ok, new_opt, d_opt), bad + (1 - ok.astype(jnp.int32)))
        return carry, {'d_loss': adv, 'penalty': pen, 'd_real': mr, 'd_fake': mf}

    def step(state: GANState, batch: Batch) -> tuple[GANState, Metrics]:
        x = batch['x']
        labels = batch.get('label')
        if x.shape[0] % d_steps:
            raise ConfigError(f'a step needs a multiple of d_steps={d_steps} examples, got {x.shape[0]}')
        n = x.shape[0] // d_steps
        split = lambda a: jnp.swapaxes(a.reshape(n, d_steps, *a.shape[1:]), 0, 1)
        xs = split(x)
        ls = split(labels) if labels is not None else None
        key = jax.random.fold_in(state.rng, state.step)
        k_critic, k_gen = jax.random.split(key)
        critic_keys = jax.random.split(k_critic, d_steps)
        first_index = state.step * d_steps
        carry = (state.d_params, state.d_collections, state.d_opt_state, jnp.zeros((), jnp.int32))

        if critic_loop == 'scan':
            def body(c, inp):
                real, lab, k, i = inp
                return d_update(state, c, real, lab, k, i)

            carry, d_metrics = lax.scan(body, carry, (xs, ls, critic_keys, first_index + jnp.arange(d_steps)))
            d_metrics = jax.tree.map(lambda m: m[-1], d_metrics)
        else:
            for i in range(d_steps):
                carry, d_metrics = d_update(state, carry, xs[i], None if ls is None else ls[i],
                                            critic_keys[i], first_index + i)
        d_params, d_cols, d_opt, bad = carry

        real = xs[-1]
        g_labels = None if ls is None else ls[-1]
        z = latents(k_gen, n)

        def g_loss_fn(params):
            fake, cols = apply_model(generator, params, state.g_collections, z, g_labels, train=True)
            f, _ = apply_model(discriminator, d_params, d_cols, fake, g_labels, train=True)
            r = jnp.zeros_like(f)
            if gan_loss.needs_real_for_g:
                r, _ = apply_model(discriminator, d_params, d_cols, real, g_labels, train=True)
            return gan_loss.g_loss(r, f), cols

        (g_loss, g_cols), g_grads = jax.value_and_grad(g_loss_fn, has_aux=True)(state.g_params)
        g_grads = mean_over_devices(g_grads)
        g_updates, g_opt = g_tx.update(g_grads, state.g_opt_state, state.g_params)
        g_params = optax.apply_updates(state.g_params, g_updates)
        g_ok = _all_finite(g_loss, g_grads)
        g_params = _keep_if(g_ok, g_params, state.g_params)
        g_cols = _keep_if(g_ok, g_cols, state.g_collections)
        g_opt = _keep_if(g_ok, g_opt, state.g_opt_state)

        decay = jnp.where(state.step >= ema_start, ema_decay, 0.0)
        ema = jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, state.ema_params, g_params)

        new_state = state.replace(step=state.step + 1, g_params=g_params, d_params=d_params,
                                  g_collections=g_cols, d_collections=d_cols, g_opt_state=g_opt,
                                  d_opt_state=d_opt, ema_params=ema)
        metrics = {**d_metrics, 'g_loss': g_loss,
                   'nonfinite': (bad + (1 - g_ok.astype(jnp.int32))).astype(jnp.float32)}
        return new_state, mean_over_devices(metrics)

    return step


def jit_train_step(config, generator: nn.Module, discriminator: nn.Module) -> StepFn:
    """The single-device step, compiled, with the old state's buffers donated to the new one."""
    return jax.jit(make_train_step(config, generator, discriminator), donate_argnums=0)


def make_sample_fn(generator: nn.Module) -> Callable:
    """``sample(params, collections, z, labels) -> samples`` with G in inference mode, compiled."""

    @jax.jit
    def sample(params, collections, z, labels=None):
        return generator.apply({'params': params, **collections}, z, labels, train=False)

    return sample
