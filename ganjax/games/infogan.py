"""InfoGAN (Chen et al. 2016): latent codes the generator must keep recoverable from its samples.

G's input is ``(z, c)``: noise ``z`` (``model.latent_dim`` draws of ``model.latent_dist``: the paper's
code draws it uniform on [-1, 1]), one categorical code of
``game.categorical`` values (one-hot) and ``game.continuous`` codes uniform on [-1, 1]. The
discriminator carries a ``q`` head on its body (the model's ``q_dim``), which predicts the codes: class
logits for the categorical one, a mean for each continuous one (a Gaussian of unit variance). Both
updates add ``game.info_weight`` times the information loss

    L_I = CE(q_cat, c) + 0.5 * |q_mean - c_cont|^2,

the negative of the variational lower bound on the mutual information ``I(c; G(z, c))`` up to constants:
the D update trains D and its Q head on it, the G update trains G. With the adversarial loss of
``loss.name`` (no penalty: InfoGAN's recipe has none).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from ganjax import losses, models
from ganjax.errors import ConfigError
from ganjax.games.core import Context, Game, Network, OptimizerSpec, Update
from ganjax.state import latent_sampler, sample_latent


def information_loss(q: jax.Array, categorical: jax.Array, continuous: jax.Array, num_categories: int) -> jax.Array:
    """``L_I`` for Q's outputs ``q`` (class logits, then one mean per continuous code) and the codes."""
    cat = losses.auxiliary_classifier(q[:, :num_categories], categorical) if num_categories else 0.0
    cont = 0.5 * jnp.mean(jnp.sum(jnp.square(q[:, num_categories:] - continuous), axis=-1))
    return cat + cont


def mutual_information_bound(q: jax.Array, categorical: jax.Array, num_categories: int) -> jax.Array:
    """The categorical code's lower bound ``H(c) - E[-log Q(c | x)] <= I(c; x)``, for a uniform code."""
    return jnp.log(num_categories) - losses.auxiliary_classifier(q[:, :num_categories], categorical)


def code_sweep(config, key: jax.Array, rows: int = 8, steps: int = 8) -> tuple[jax.Array, int]:
    """Inputs for InfoGAN's picture of what each code does: ``(z, columns)``.

    Row ``r`` keeps one noise vector; the first block of columns walks the categorical code through its
    values (continuous codes 0), then one block per continuous code sweeps it over ``steps`` values from
    -1 to 1 (categorical code 0). Lay the samples out ``columns`` wide with :func:`ganjax.viz.save_image_grid`.
    """
    k, n_cont, noise = int(config.game.categorical), int(config.game.continuous), int(config.model.latent_dim)
    z = sample_latent(key, (rows, 1, noise), config.model.latent_dist)
    settings = [(c, jnp.zeros(n_cont)) for c in range(k)]
    for j in range(n_cont):
        settings += [(0, jnp.zeros(n_cont).at[j].set(v)) for v in jnp.linspace(-1.0, 1.0, steps)]
    cat = jnp.array([c for c, _ in settings])
    cont = jnp.stack([v for _, v in settings])
    codes = jnp.concatenate(([jax.nn.one_hot(cat, k)] if k else []) + [cont], axis=-1)
    cols = len(settings)
    full = jnp.concatenate([jnp.broadcast_to(z, (rows, cols, noise)),
                            jnp.broadcast_to(codes[None], (rows, cols, codes.shape[-1]))], axis=-1)
    return full.reshape(rows * cols, -1), cols


def build(config, spec, axis_name: str | None = None) -> Game:
    g = config.game
    k, n_cont, weight = int(g.categorical), int(g.continuous), float(g.info_weight)
    if k < 0 or n_cont < 0 or k + n_cont == 0 or weight < 0:
        raise ConfigError('infogan needs game.categorical >= 0 and game.continuous >= 0, not both 0, and '
                          'game.info_weight >= 0')
    if config.penalty.name != 'none':
        raise ConfigError('the infogan game takes no penalty (set penalty.name=none)')
    gan_loss = losses.get_loss(config.loss.name, config.loss.label_smoothing)
    generator, discriminator = models.get_models(config.model, spec.example_shape, spec.num_classes,
                                                 bn_axis_name=axis_name)
    if 'q_dim' not in discriminator.__dataclass_fields__:
        raise ConfigError(f'the infogan game needs a discriminator with a q head; model {config.model.name!r} '
                          'has none (use model.name=dcgan)')
    discriminator = discriminator.clone(q_dim=k + n_cont)
    noise, draw_noise = int(config.model.latent_dim), latent_sampler(config.model.latent_dist)
    draw_uniform = latent_sampler('uniform')  # the continuous codes, on [-1, 1]

    def codes(ctx_draw, key, n):
        k_z, k_cat, k_cont = jax.random.split(key, 3)
        z = ctx_draw(draw_noise, k_z, (n, noise))
        cat = ctx_draw(lambda kk, s: jax.random.randint(kk, s, 0, max(k, 1)), k_cat, (n,))
        cont = ctx_draw(draw_uniform, k_cont, (n, n_cont))
        parts = [z, jax.nn.one_hot(cat, k)] if k else [z]
        return jnp.concatenate(parts + [cont], axis=-1), cat, cont

    def d_loss(params, ctx: Context):
        real, labels = ctx.batch['x'], ctx.batch.get('label')
        z, cat, cont = codes(ctx.draw, ctx.key, real.shape[0])
        fake = lax.stop_gradient(ctx.apply('G', params['G'], z, labels, train=True)[0])
        out_r, cols = ctx.apply('D', params['D'], real, labels, train=True)
        out_f, cols = ctx.apply('D', params['D'], fake, labels, train=True, collections=cols)
        adv = gan_loss.d_loss(out_r['logits'], out_f['logits'])
        info = information_loss(out_f['q'], cat, cont, k)
        return adv + weight * info, {'metrics': {'d_loss': adv, 'info': info}, 'collections': {'D': cols}}

    def g_loss(params, ctx: Context):
        labels = ctx.batch.get('label')
        z, cat, cont = codes(ctx.draw, ctx.key, ctx.batch['x'].shape[0])
        fake, g_cols = ctx.apply('G', params['G'], z, labels, train=True)
        out_f = ctx.apply('D', params['D'], fake, labels, train=True)[0]
        adv = gan_loss.g_loss(jnp.zeros_like(out_f['logits']), out_f['logits'])
        info = information_loss(out_f['q'], cat, cont, k)
        metrics = {'g_loss': adv, 'g_info': info}
        if k:
            metrics['mi_bound'] = mutual_information_bound(out_f['q'], cat, k)
        return adv + weight * info, {'metrics': metrics, 'collections': {'G': g_cols}}

    t = config.train
    labels = jnp.zeros((2,), jnp.int32) if spec.num_classes else None
    width = noise + k + n_cont
    return Game(
        networks={'G': Network(generator, (jnp.zeros((2, width), jnp.float32), labels), OptimizerSpec(t.g_lr),
                               ema=True),
                  'D': Network(discriminator, (jnp.zeros((2, *spec.example_shape), jnp.float32), labels),
                               OptimizerSpec(t.d_lr))},
        updates=(Update('D', ('D',), d_loss), Update('G', ('G',), g_loss)),
        latent_dim=width, latents=lambda key, n: codes(lambda f, kk, s: f(kk, s), key, n)[0])
