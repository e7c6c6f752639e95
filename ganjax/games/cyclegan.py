"""CycleGAN (Zhu et al. 2017): two generators between unpaired domains, tied by cycle consistency.

Batches ``{'a': domain A, 'x': domain B}`` (:mod:`ganjax.data.paired`, usually ``data.pairing='unpaired'``).
``G_ab``/``G_ba`` are ResNet translators, ``D_a``/``D_b`` PatchGANs (:mod:`ganjax.models.cyclegan`), and
the adversarial loss is least squares, as in the paper:

* G update (both generators): ``(D_b(G_ab(a)) - 1)^2 + (D_a(G_ba(b)) - 1)^2`` (means)
  ``+ lambda (|G_ba(G_ab(a)) - a| + |G_ab(G_ba(b)) - b|)`` (:func:`cycle_loss`, ``translation.cycle_weight``
  = 10) ``+ identity * lambda (|G_ab(b) - b| + |G_ba(a) - a|)`` (:func:`identity_loss`,
  ``translation.identity_weight`` = 0.5);
* D update (both discriminators): ``0.5 (D(real) - 1)^2 + 0.5 D(fake)^2`` per discriminator, where the
  fakes come from a history of ``translation.pool_size`` (50) generated images (Shrivastava et al. 2017):
  :func:`pool_query`.

The pools live in the state's ``extra`` (so a checkpoint holds them) together with this step's queried
fakes, which the G update (it generates them) hands to the D update; every swap is drawn from the step's
key, so a resumed run is bit-identical. The pool is one history of the global batch, so ``parallel.mode=
'pmap'`` (where each device would keep its own) is refused; ``'sharded'`` and ``'single'`` are fine.
The paper's schedule is ``train.lr_schedule='constant_then_linear'`` (Adam 2e-4, beta1 0.5).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update
from ganjax.games.pix2pix import evaluation_inputs, translation_models

SWAP_PROBABILITY = 0.5  # a full pool answers a query with a stored image this often (and stores the new one)


def pool_query(pool: jax.Array, count: jax.Array, images: jax.Array,
               key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The images D judges for a batch of new ``images``: ``(answers, new pool, new count)``.

    Images go through one at a time: while the pool holds ``count < len(pool)`` images the new image is
    stored and answered with itself; once full, with probability 1/2 a uniformly chosen stored image is
    answered and replaced by the new one, else the new image is answered and the pool kept. A pool of size 0
    answers every image with itself.
    """
    size = pool.shape[0]
    if size == 0:
        return images, pool, count
    k_u, k_i = jax.random.split(key)
    u = jax.random.uniform(k_u, (images.shape[0],))
    slots = jax.random.randint(k_i, (images.shape[0],), 0, size)

    def one(carry, inp):
        pool, count = carry
        image, u_i, slot = inp
        filling = count < size
        swap = jnp.logical_and(~filling, u_i < SWAP_PROBABILITY)
        answer = jnp.where(swap, pool[slot], image)
        target = jnp.where(filling, count, slot)
        pool = jnp.where(filling | swap, pool.at[target].set(image), pool)
        return (pool, count + filling.astype(count.dtype)), answer

    (pool, count), answers = lax.scan(one, (pool, count), (images, u, slots))
    return answers, pool, count


def cycle_loss(a, rec_a, b, rec_b, weight: float) -> jax.Array:
    """``weight * (mean |rec_a - a| + mean |rec_b - b|)``: each domain back through both generators."""
    return weight * (jnp.mean(jnp.abs(rec_a - a)) + jnp.mean(jnp.abs(rec_b - b)))


def identity_loss(a, same_a, b, same_b, weight: float) -> jax.Array:
    """``weight * (mean |G_ba(a) - a| + mean |G_ab(b) - b|)``: a generator fed its own output domain should
    change nothing (``same_a = G_ba(a)``, ``same_b = G_ab(b)``)."""
    return weight * (jnp.mean(jnp.abs(same_a - a)) + jnp.mean(jnp.abs(same_b - b)))


def build(config, spec, axis_name: str | None = None) -> Game:
    tr = config.translation
    cycle_w, idt = float(tr.cycle_weight), float(tr.identity_weight)
    pool_size, batch = int(tr.pool_size), int(config.train.batch_size)
    if config.data.pairing not in ('paired', 'unpaired'):
        raise ConfigError("cyclegan needs two image domains (data.pairing='unpaired' or 'paired')")
    if cycle_w < 0 or idt < 0 or pool_size < 0:
        raise ConfigError('cyclegan needs translation.cycle_weight, identity_weight and pool_size >= 0')
    if axis_name is not None:
        raise ConfigError("cyclegan keeps one image pool of the global batch: use parallel.mode='single' or "
                          "'sharded', not 'pmap'")
    if config.penalty.name != 'none' or config.train.d_steps != 1:
        raise ConfigError('the cyclegan game takes no penalty and one D update per step '
                          '(penalty.name=none, train.d_steps=1)')
    generator, discriminator = translation_models(config, spec, axis_name)
    if 'blocks' not in generator.__dataclass_fields__:
        raise ConfigError(f'cyclegan needs the ResNet generator (model.name=cyclegan), got {config.model.name!r}')
    generator = generator.clone(blocks=int(tr.resnet_blocks))
    shape = tuple(spec.example_shape)

    def g_loss(params, ctx: Context):
        a, b = ctx.batch['a'], ctx.batch['x']
        run = lambda name, x: ctx.apply(name, params[name], x)[0]
        fake_b, fake_a = run('G_ab', a), run('G_ba', b)
        adv = (jnp.mean(jnp.square(run('D_b', fake_b)['logits'] - 1))
               + jnp.mean(jnp.square(run('D_a', fake_a)['logits'] - 1)))
        cycle = cycle_loss(a, run('G_ba', fake_b), b, run('G_ab', fake_a), cycle_w)
        total = adv + cycle
        metrics = {'g_loss': adv, 'cycle': cycle}
        if idt:
            identity = identity_loss(a, run('G_ba', a), b, run('G_ab', b), idt * cycle_w)
            total, metrics['identity'] = total + identity, identity
        k_a, k_b = jax.random.split(ctx.key)
        ex = ctx.extra
        query_a, pool_a, count_a = pool_query(ex['pool_a'], ex['count_a'], lax.stop_gradient(fake_a), k_a)
        query_b, pool_b, count_b = pool_query(ex['pool_b'], ex['count_b'], lax.stop_gradient(fake_b), k_b)
        extra = {'pool_a': pool_a, 'count_a': count_a, 'query_a': query_a,
                 'pool_b': pool_b, 'count_b': count_b, 'query_b': query_b}
        return total, {'metrics': metrics, 'extra': extra}

    def d_loss(params, ctx: Context):
        a, b = ctx.batch['a'], ctx.batch['x']
        run = lambda name, x: ctx.apply(name, params[name], x)[0]['logits']
        ls = lambda d, real, fake: 0.5 * (jnp.mean(jnp.square(run(d, real) - 1)) + jnp.mean(jnp.square(run(d, fake))))
        loss_a, loss_b = ls('D_a', a, ctx.extra['query_a']), ls('D_b', b, ctx.extra['query_b'])
        return loss_a + loss_b, {'metrics': {'d_loss_a': loss_a, 'd_loss_b': loss_b}}

    def init_extra():
        images = lambda n: jnp.zeros((n, *shape), jnp.float32)
        return {'pool_a': images(pool_size), 'count_a': jnp.zeros((), jnp.int32), 'query_a': images(batch),
                'pool_b': images(pool_size), 'count_b': jnp.zeros((), jnp.int32), 'query_b': images(batch)}

    t = config.train
    example = (jnp.zeros((2, *shape), jnp.float32),)
    gen = lambda: Network(generator, example, OptimizerSpec(t.g_lr), ema=True)
    disc = lambda: Network(discriminator, example, OptimizerSpec(t.d_lr))
    return Game(networks={'G_ab': gen(), 'G_ba': gen(), 'D_a': disc(), 'D_b': disc()},
                updates=(Update('G', ('G_ab', 'G_ba'), g_loss), Update('D', ('D_a', 'D_b'), d_loss)),
                sampler='G_ab', latents=evaluation_inputs(config), init_extra=init_extra)
