"""Stabilisers against mode collapse and instability, as small pure functions the adversarial game composes.

``config.stabilise`` turns each on (all off by default); :func:`from_config` checks the settings once.
The game (:mod:`ganjax.games.adversarial`) calls these functions; model-side pieces (minibatch
discrimination, minibatch stddev, virtual batch norm) are fields of the networks, set here by
:func:`configure_models`, and Projected GAN is a discriminator of its own (:mod:`ganjax.models.projected`).

* Feature matching (Salimans et al. 2016): G also minimises ``||E_x f(x) - E_z f(G(z))||^2`` for D's last
  hidden layer ``f`` (the ``features`` head), batch means taken over the global batch.
* Historical averaging (Salimans et al. 2016): each network also minimises ``||theta - theta_bar||^2``,
  ``theta_bar`` the mean of its parameters before each of its past updates (a running mean kept in
  ``extra``: ``bar_{n+1} = bar_n + (theta_n - bar_n) / (n + 1)``); zero at the first update.
* Unrolled GAN (Metz et al. 2017): G's loss is D's verdict after ``k`` more steps of D's own optimiser
  (from its current state) on the current real and fake batches, differentiated through those steps.
* Experience replay (Pfau & Vinyals 2016; Shrivastava et al. 2017): a buffer of past fakes in ``extra``;
  of the fake batch D sees, the examples at global positions ``j`` with ``floor((j + 1) f) > floor(j f)``
  (exactly ``floor(B f)`` of a global batch of ``B``, spread evenly) are replaced by buffer entries drawn
  uniformly from those written so far; every D update then writes the global batch's new fakes into the
  buffer as a ring. Before anything is written the batch is left as it is.
* PacGAN (Lin et al. 2018): D judges ``m`` examples at once: consecutive groups of ``m`` joined along the
  channels (images) or features (vectors), D built for ``m`` times the channels.
* Mode seeking (Mao et al. 2019): G also minimises ``1 / (mean|G(z1) - G(z2)| / mean|z1 - z2| + 1e-5)``
  for two latent batches with the same conditions.
* bCR (Zhao et al. 2021): D also minimises ``lambda (||D(x) - D(T(x))||^2 + ||D(G(z)) - D(T(G(z)))||^2)``
  (means over the batch), ``T`` flip-and-translate.
* DiffAugment (Zhao et al. 2020) and ADA (Karras et al. 2020): :mod:`ganjax.augment`; ADA's ``p`` is kept
  in ``extra`` and adjusted by :func:`ada_adjust`.

Parallel modes: every option here gives the same run in 'single', 'sharded' and 'pmap' (batch means
through ``Context.mean``, draws through ``Context.draw``, the replay buffer filled with the gathered global
batch), except the model-side ones with cross-example state, minibatch discrimination and minibatch
stddev: under ``pmap`` they compare the examples of a device's own batch (per-device batch statistics,
like batch norm without a synchronising axis); in 'single' and 'sharded' those of the global batch.
Packing groups consecutive examples, which stay on one device when the per-device batch is a multiple of
``m`` (checked): it is then the same in every mode.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax import augment
from ganjax.errors import ConfigError

PyTree = Any
MODE_SEEKING_EPS = 1e-5  # Mao et al. 2019's epsilon


@dataclasses.dataclass(frozen=True)
class Stabilisers:
    """``config.stabilise``, checked, as plain Python values."""

    feature_matching: float = 0.0
    minibatch_kernels: int = 0
    minibatch_kernel_dim: int = 5
    minibatch_stddev: int = 0
    historical_averaging: float = 0.0
    virtual_batch_norm: int = 0
    unrolled_steps: int = 0
    replay_fraction: float = 0.0
    replay_size: int = 0
    pack: int = 1
    mode_seeking: float = 0.0
    consistency: float = 0.0
    consistency_flip: bool = True
    diffaugment: tuple[str, ...] = ()
    ada_target: float = 0.0
    ada_interval: int = 4
    ada_kimg: float = 500.0
    projected_features: str = 'inception'

    @property
    def replay(self) -> bool:
        return self.replay_fraction > 0

    @property
    def ada(self) -> bool:
        return self.ada_target > 0


def from_config(config) -> Stabilisers:
    """The game's stabilisers from ``config.stabilise`` (all off for a config that predates the section)."""
    s = config.get('stabilise')
    if s is None:
        return Stabilisers()
    st = Stabilisers(
        feature_matching=float(s.feature_matching), minibatch_kernels=int(s.minibatch_kernels),
        minibatch_kernel_dim=int(s.minibatch_kernel_dim), minibatch_stddev=int(s.minibatch_stddev),
        historical_averaging=float(s.historical_averaging), virtual_batch_norm=int(s.virtual_batch_norm),
        unrolled_steps=int(s.unrolled_steps), replay_fraction=float(s.replay_fraction),
        replay_size=int(s.replay_size), pack=int(s.pack), mode_seeking=float(s.mode_seeking),
        consistency=float(s.consistency),  # a config saved before consistency_flip existed: the paper's T
        consistency_flip=bool(s.get('consistency_flip', Stabilisers.consistency_flip)),
        diffaugment=augment.parse_policy(s.diffaugment),
        ada_target=float(s.ada_target), ada_interval=int(s.ada_interval), ada_kimg=float(s.ada_kimg),
        projected_features=str(s.projected_features))
    for name in ('feature_matching', 'minibatch_kernels', 'minibatch_stddev', 'historical_averaging',
                 'virtual_batch_norm', 'unrolled_steps', 'replay_size', 'mode_seeking', 'consistency'):
        if getattr(st, name) < 0:
            raise ConfigError(f'stabilise.{name} must be >= 0, got {getattr(st, name)}')
    if st.pack < 1:
        raise ConfigError(f'stabilise.pack must be >= 1, got {st.pack}')
    if not 0 <= st.replay_fraction < 1:
        raise ConfigError(f'stabilise.replay_fraction must be in [0, 1), got {st.replay_fraction}')
    if st.replay and st.replay_size < 1:
        raise ConfigError('stabilise.replay_fraction needs stabilise.replay_size >= 1 (samples kept)')
    if not 0 <= st.ada_target < 1 or st.ada_interval < 1 or st.ada_kimg <= 0:
        raise ConfigError('stabilise.ada_target must be in [0, 1), ada_interval >= 1 and ada_kimg > 0')
    if st.ada and st.diffaugment:
        raise ConfigError('choose one of stabilise.diffaugment and stabilise.ada_target')
    if st.minibatch_kernels and st.minibatch_kernel_dim < 1:
        raise ConfigError('stabilise.minibatch_kernel_dim must be >= 1')
    return st


def configure_models(st: Stabilisers, generator: nn.Module, discriminator: nn.Module,
                     model_name: str) -> tuple[nn.Module, nn.Module]:
    """The networks with the model-side options set (a clone with those fields); a ConfigError where the
    model has no such option."""
    def setting(module: nn.Module, fields: dict[str, int]) -> nn.Module:
        wanted = {k: v for k, v in fields.items() if v}
        missing = [k for k in wanted if k not in {f.name for f in dataclasses.fields(module)}]
        if missing:
            raise ConfigError(f'model {model_name!r} has no {", ".join(missing)} option (stabilise.*); the mlp '
                              'and dcgan models have it')
        return module.clone(**wanted) if wanted else module

    generator = setting(generator, {'virtual_batch_norm': st.virtual_batch_norm})
    discriminator = setting(discriminator, {'minibatch_kernels': st.minibatch_kernels,
                                            'minibatch_stddev': st.minibatch_stddev})
    if st.minibatch_kernels:
        discriminator = discriminator.clone(minibatch_kernel_dim=st.minibatch_kernel_dim)
    if 'feature_net' in {f.name for f in dataclasses.fields(discriminator)}:  # Projected GAN's D
        discriminator = discriminator.clone(feature_net=st.projected_features)
    return generator, discriminator


# -- feature matching, mode seeking, consistency ------------------------------------------------------

def feature_matching(f_real: jax.Array, f_fake: jax.Array, mean: Callable = lambda t: t) -> jax.Array:
    """``||mean f_real - mean f_fake||^2``; ``mean`` averages per-device means over devices (Context.mean)."""
    diff = mean(jnp.mean(f_real, axis=0)) - mean(jnp.mean(f_fake, axis=0))
    return jnp.sum(diff**2)


def mode_seeking(g1: jax.Array, g2: jax.Array, z1: jax.Array, z2: jax.Array,
                 mean: Callable = lambda t: t) -> jax.Array:
    """Mao et al. 2019: ``1 / (mean|g1 - g2| / mean|z1 - z2| + eps)`` (means over every element)."""
    ratio = mean(jnp.mean(jnp.abs(g1 - g2))) / mean(jnp.mean(jnp.abs(z1 - z2)))
    return 1.0 / (ratio + MODE_SEEKING_EPS)


def consistency(d_x: jax.Array, d_tx: jax.Array) -> jax.Array:
    """bCR's term for one batch: the mean over examples of ``||D(x) - D(T(x))||^2``."""
    sq = (d_x - d_tx) ** 2
    return jnp.mean(jnp.sum(sq.reshape(sq.shape[0], -1), axis=1))


def bcr_transform(x: jax.Array, key: jax.Array, draw: augment.Draw = augment.plain_draw,
                  flip: bool = True) -> jax.Array:
    """bCR's ``T`` for images: a random horizontal flip and an integer translation of up to 1/8 side.

    ``flip=False`` keeps only the translation, for data whose mirror image is not a valid example
    (digits, text): asking D to score a mirrored 7 like a 7 erases what tells real from fake there."""
    n, h, w, _ = x.shape
    k_flip, k_dy, k_dx = jax.random.split(key, 3)
    if flip:
        mirror = draw(jax.random.uniform, k_flip, (n,)) < 0.5
        x = jnp.where(mirror[:, None, None, None], x[:, :, ::-1], x)
    sy, sx = augment.translation_range(h), augment.translation_range(w)
    dy = draw(lambda k, s: jax.random.randint(k, s, -sy, sy + 1), k_dy, (n,))
    dx = draw(lambda k, s: jax.random.randint(k, s, -sx, sx + 1), k_dx, (n,))
    return augment.translate(x, dy, dx)


# -- packing -----------------------------------------------------------------------------------------

def pack(x: jax.Array, m: int) -> jax.Array:
    """Consecutive groups of ``m`` examples joined along the last axis: ``(N, ..., C) -> (N/m, ..., m C)``,
    example ``g m + i`` in channels ``[i C, (i + 1) C)`` of packed example ``g``."""
    if m == 1:
        return x
    n = x.shape[0]
    if n % m:
        raise ConfigError(f'stabilise.pack={m} needs a (per-device) batch that is a multiple of it, got {n}')
    g = x.reshape(n // m, m, *x.shape[1:])
    return jnp.moveaxis(g, 1, -2).reshape(n // m, *x.shape[1:-1], m * x.shape[-1])


def packed_shape(shape: tuple[int, ...], m: int) -> tuple[int, ...]:
    return (*shape[:-1], m * shape[-1])


# -- historical averaging ----------------------------------------------------------------------------

def historical_init(params: PyTree) -> dict[str, PyTree]:
    """Extra state of one network's historical average: the mean so far and how many terms it has."""
    return {'mean': jax.tree.map(jnp.zeros_like, params), 'count': jnp.zeros((), jnp.int32)}


def historical_penalty(params: PyTree, hist: dict[str, PyTree]) -> jax.Array:
    """``||theta - theta_bar||^2`` summed over every parameter; 0 before any history exists."""
    sq = sum(jnp.sum((p - jax.lax.stop_gradient(m)) ** 2)
             for p, m in zip(jax.tree.leaves(params), jax.tree.leaves(hist['mean'])))
    return jnp.where(hist['count'] > 0, sq, 0.0)


def historical_update(params: PyTree, hist: dict[str, PyTree]) -> dict[str, PyTree]:
    """The running mean with ``params`` added: ``bar + (theta - bar) / (n + 1)``."""
    n = hist['count'] + 1
    mean = jax.tree.map(lambda m, p: m + (jax.lax.stop_gradient(p) - m) / n.astype(m.dtype), hist['mean'], params)
    return {'mean': mean, 'count': n}


# -- experience replay -------------------------------------------------------------------------------

def replay_init(size: int, example_shape: tuple[int, ...]) -> dict[str, jax.Array]:
    return {'buffer': jnp.zeros((size, *example_shape), jnp.float32), 'written': jnp.zeros((), jnp.int32)}


def replay_mask(global_index: jax.Array, fraction: float) -> jax.Array:
    """Which global batch positions take a replayed sample: ``floor((j + 1) f) > floor(j f)``."""
    j = global_index.astype(jnp.float32)
    return jnp.floor((j + 1) * fraction) > jnp.floor(j * fraction)


def replay_mix(fake: jax.Array, replay: dict[str, jax.Array], fraction: float, key: jax.Array,
               offset: jax.Array | int = 0, draw: augment.Draw = augment.plain_draw) -> jax.Array:
    """``fake`` with the masked positions (global index ``offset + i``) replaced by buffer entries drawn
    uniformly among those written; unchanged while the buffer is empty."""
    n, size = fake.shape[0], replay['buffer'].shape[0]
    filled = jnp.minimum(replay['written'], size)
    pick = draw(lambda k, s: jax.random.randint(k, s, 0, jnp.maximum(filled, 1)), key, (n,))
    mask = replay_mask(offset + jnp.arange(n), fraction) & (filled > 0)
    return jnp.where(mask.reshape(-1, *(1,) * (fake.ndim - 1)), replay['buffer'][pick], fake)


def replay_store(replay: dict[str, jax.Array], fakes: jax.Array) -> dict[str, jax.Array]:
    """The buffer with the (global) batch ``fakes`` written at the ring's next positions."""
    size = replay['buffer'].shape[0]
    idx = (replay['written'] + jnp.arange(fakes.shape[0])) % size
    return {'buffer': replay['buffer'].at[idx].set(fakes), 'written': replay['written'] + fakes.shape[0]}


# -- ADA ---------------------------------------------------------------------------------------------

def ada_init() -> dict[str, jax.Array]:
    """ADA's state: ``p`` (starts at 0), the sum of ``E sign(D(real))`` over this interval, its length."""
    return {'p': jnp.zeros((), jnp.float32), 'sum': jnp.zeros((), jnp.float32), 'n': jnp.zeros((), jnp.int32)}


def ada_adjust(ada: dict[str, jax.Array], sign_mean: jax.Array, batch: int, target: float, interval: int,
               kimg: float) -> dict[str, jax.Array]:
    """One D update of Karras et al. 2020's rule: accumulate ``E sign(D(real))``; after every ``interval``
    updates, with ``r_t`` their mean,
    ``p <- clip(p + sign(r_t - target) * interval * batch / (kimg * 1000), 0, 1)`` (so ``p`` can cross
    [0, 1] in ``kimg`` thousand real images) and start a new interval."""
    total, n = ada['sum'] + sign_mean, ada['n'] + 1
    due = n >= interval
    r_t = total / n.astype(jnp.float32)
    step = jnp.sign(r_t - target) * (interval * batch / (kimg * 1000.0))
    p = jnp.where(due, jnp.clip(ada['p'] + step, 0.0, 1.0), ada['p'])
    return {'p': p, 'sum': jnp.where(due, 0.0, total), 'n': jnp.where(due, 0, n)}
