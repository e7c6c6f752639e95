"""The step engine: one pure function ``(state, batch) -> (state, metrics)`` for any game.

It knows no GAN family, loss, penalty or model: a :class:`~ganjax.games.core.Game` says which networks
there are and which updates to run, in order; the engine runs them. For each update it

1. takes the update's sub-batch and key (see below) and builds the loss's
   :class:`~ganjax.games.core.Context`;
2. differentiates the loss with respect to the parameters of the networks the update trains, averages
   the gradients over devices under ``pmap``, and applies each network's own optimiser;
3. keeps the old parameters, optimiser states, collections and extra state if the loss, a gradient or
   the new extra state is not finite, and counts it in ``metrics['nonfinite']`` (the train loop decides
   whether to stop or go on);
4. repeats it (``Update.repeat``; a ``lax.scan`` or an unrolled loop, ``loop=``) or runs it lazily every
   k steps (``Update.every``, ``lax.cond``).

After the updates it moves each EMA network's average towards its new parameters.

Batches: ``batch`` is a dict of arrays whose leading axis holds ``game.batch_splits * B`` examples
(``B`` = per-device batch); sub-batch ``i`` is examples ``j * batch_splits + i``. That interleaving keeps
each device's examples on that device when the batch is sharded on its leading axis.

Randomness comes from the state alone: step ``t``'s key is ``fold_in(state.rng, t)``, split into one key
per update; a repeated update splits its key once more per repetition. Under ``pmap`` (``axis_name``
given) the context's draws take the global batch's numbers and keep this device's slice.

Loops: with XLA's own convolutions on CPU a conv-heavy ``lax.scan`` body runs several times slower than
the unrolled loop; with the matmul lowering both run alike and the scan compiles faster
(benchmarks/critic_loop.py). :func:`ganjax.games.step_options` picks per backend.
"""

from __future__ import annotations

from typing import Callable, Mapping

import jax
import jax.numpy as jnp
import optax
from jax import lax

from ganjax.games.core import Context, Game, Update, ema_update
from ganjax.state import GANState

Batch = dict[str, jax.Array]
Metrics = dict[str, jax.Array]
StepFn = Callable[[GANState, Batch], tuple[GANState, Metrics]]


def _all_finite(*trees) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(l)) for t in trees for l in jax.tree.leaves(t)
              if jnp.issubdtype(jnp.result_type(l), jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.array(True)


def _keep_if(ok: jax.Array, new, old):
    return jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, old)


def make_train_step(game: Game, optimizers: Mapping[str, optax.GradientTransformation], *,
                    loop: str = 'unroll', ema_decay: float = 0.0, ema_start: int = 0,
                    axis_name: str | None = None) -> StepFn:
    """The (un-jitted) step of ``game`` with the networks' ``optimizers``.

    ``loop`` is ``'scan'`` or ``'unroll'`` for repeated updates; ``ema_decay`` the EMA's decay from step
    ``ema_start`` on (before it the average copies the parameters). ``axis_name`` names the device axis
    under ``pmap`` (gradients, metrics and :meth:`Context.mean` are then averaged across devices); leave
    it ``None`` for one device or for jit over a sharded mesh, where batch means are already global.
    """
    if loop not in ('scan', 'unroll'):
        raise ValueError(f"loop must be 'scan' or 'unroll', got {loop!r}")
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f'ema_decay must be in [0, 1), got {ema_decay}')
    splits = game.batch_splits
    mean_over_devices = (lambda t: lax.pmean(t, axis_name)) if axis_name else (lambda t: t)

    def apply_once(update: Update, state: GANState, carry, batch, key, index, scale):
        """One gradient step of ``update``; ``carry`` = (params, opt_states, collections, extra, bad)."""
        params, opts, cols, extra, bad = carry
        ctx = Context(game.networks, cols, extra, optimizers, opts, batch, key, state.step, index, axis_name)

        def loss_fn(trained):
            value, aux = update.loss({**params, **trained}, ctx)
            return value * scale if scale != 1 else value, (value, aux)

        trained = {n: params[n] for n in update.trains}
        grads, (value, aux) = jax.grad(loss_fn, has_aux=True)(trained)
        grads = mean_over_devices(grads)
        new_params, new_opts = dict(params), dict(opts)
        for n in update.trains:
            upd, new_opts[n] = optimizers[n].update(grads[n], opts[n], params[n])
            new_params[n] = optax.apply_updates(params[n], upd)
        new_cols = {**cols, **aux.get('collections', {})}
        new_extra = {**extra, **aux.get('extra', {})}
        ok = _all_finite(value, grads, aux.get('extra', {}))
        new = (_keep_if(ok, new_params, params), _keep_if(ok, new_opts, opts), _keep_if(ok, new_cols, cols),
               _keep_if(ok, new_extra, extra), bad + (1 - ok.astype(jnp.int32)))
        return new, aux.get('metrics', {})

    def run(update: Update, state: GANState, carry, subs: Batch, key):
        scale = update.every
        if update.repeat is None:
            last = jax.tree.map(lambda a: a[-1], subs)
            return apply_once(update, state, carry, last, key, state.step, scale)
        r = update.repeat
        keys = jax.random.split(key, r)
        batches = jax.tree.map(lambda a: a[splits - r:], subs)
        indices = state.step * r + jnp.arange(r)
        # only the trained networks change inside the loop: carry those, close over the rest
        params, opts, cols, extra, bad = carry
        fixed = {n: p for n, p in params.items() if n not in update.trains}

        def body(c, inp):
            p, o, cl, ex, b = c
            batch, k, i = inp
            (p2, o2, cl2, ex2, b2), m = apply_once(update, state, ({**fixed, **p}, {**opts, **o}, cl, ex, b),
                                                   batch, k, i, scale)
            return ({n: p2[n] for n in update.trains}, {n: o2[n] for n in update.trains}, cl2, ex2, b2), m

        inner = ({n: params[n] for n in update.trains}, {n: opts[n] for n in update.trains}, cols, extra, bad)
        if loop == 'scan':
            inner, metrics = lax.scan(body, inner, (batches, keys, indices))
            metrics = jax.tree.map(lambda m: m[-1], metrics)
        else:
            for i in range(r):
                inner, metrics = body(inner, jax.tree.map(lambda a: a[i], (batches, keys, indices)))
        p, o, cl, ex, b = inner
        return ({**params, **p}, {**opts, **o}, cl, ex, b), metrics

    def run_lazily(update: Update, state: GANState, carry, subs: Batch, key):
        if update.every == 1:
            return run(update, state, carry, subs, key)
        _, metrics_shape = jax.eval_shape(lambda: run(update, state, carry, subs, key))
        skip = lambda: (carry, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), metrics_shape))
        return lax.cond(state.step % update.every == 0, lambda: run(update, state, carry, subs, key), skip)

    def step(state: GANState, batch: Batch) -> tuple[GANState, Metrics]:
        leading = {a.shape[0] for a in jax.tree.leaves(batch)}
        if len(leading) != 1 or next(iter(leading)) % splits:
            raise ValueError(f'a step needs a batch of one leading size, a multiple of {splits}, got {leading}')
        n = next(iter(leading)) // splits
        subs = jax.tree.map(lambda a: jnp.swapaxes(a.reshape(n, splits, *a.shape[1:]), 0, 1), batch)
        key = jax.random.fold_in(state.rng, state.step)
        keys = jax.random.split(key, len(game.updates))
        carry = (state.params, state.opt_states, state.collections, state.extra, jnp.zeros((), jnp.int32))
        metrics: Metrics = {}
        for update, k in zip(game.updates, keys):
            carry, m = run_lazily(update, state, carry, subs, k)
            metrics.update(m)
        params, opts, cols, extra, bad = carry
        decay = jnp.where(state.step >= ema_start, ema_decay, 0.0)
        ema = {name: ema_update(decay, avg, params[name]) for name, avg in state.ema.items()}
        new_state = state.replace(step=state.step + 1, params=params, opt_states=opts, collections=cols,
                                  extra=extra, ema=ema)
        return new_state, mean_over_devices({**metrics, 'nonfinite': bad.astype(jnp.float32)})

    return step


def jit_train_step(game: Game, optimizers: Mapping[str, optax.GradientTransformation], **options) -> StepFn:
    """The single-device step, compiled, with the old state's buffers donated to the new one."""
    return jax.jit(make_train_step(game, optimizers, **options), donate_argnums=0)
