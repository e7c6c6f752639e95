"""Adversarial losses as pure functions of discriminator outputs.

Each loss is a pair ``(d_loss, g_loss)`` of functions of the discriminator's raw outputs (logits for the
likelihood-based losses, critic values for Wasserstein and hinge) on a real and a fake batch. They are
means over the batch, so averaging gradients over devices gives the gradient of the global batch (the
relativistic-average loss is the exception: its batch means are taken per device under pmap).

Conventions, with ``r = D(x_real)`` and ``f = D(G(z))`` and ``softplus(t) = log(1 + e^t)``:

* minimax (Goodfellow et al. 2014): D minimises ``-log s(r) - log(1 - s(f))``; G minimises
  ``log(1 - s(f)) = -softplus(f)`` (the saturating form).
* non_saturating: same D; G minimises ``-log s(f) = softplus(-f)``.
* wasserstein (Arjovsky et al. 2017): D minimises ``E f - E r``; G minimises ``-E f``.
* hinge (Lim & Ye 2017, Miyato et al. 2018): D minimises ``E relu(1 - r) + E relu(1 + f)``; G ``-E f``.
* least_squares (Mao et al. 2017, a=0, b=c=1): D ``(E (r-1)^2 + E f^2) / 2``; G ``E (f-1)^2 / 2``.
* rpgan (relativistic pairing, Jolicoeur-Martineau 2018): D ``E softplus(-(r - f))``; G ``E softplus(-(f - r))``.
* ragan (relativistic average): D ``E softplus(-(r - E f)) + E softplus(f - E r)``; G the same with r and f
  swapped.

One-sided label smoothing (Salimans et al. 2016) replaces the real target 1 by ``1 - smoothing`` in the
discriminator's binary cross-entropy; it applies to the likelihood losses only.

The auxiliary classifier loss of AC-GAN (Odena et al. 2017) is the mean cross-entropy of a ``cls`` head's
class logits against the labels; D minimises it on real and fake batches, G on the fake batch.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp

from ganjax.errors import ConfigError

Array = jax.Array
softplus = jax.nn.softplus


def _bce_real(r: Array, smoothing: float) -> Array:
    """Cross-entropy of logits ``r`` against target ``1 - smoothing``, per example."""
    return (1.0 - smoothing) * softplus(-r) + smoothing * softplus(r)


@dataclasses.dataclass(frozen=True)
class GANLoss:
    """A discriminator loss and a generator loss, both ``(real_out, fake_out) -> scalar``."""

    name: str
    d_loss: Callable[[Array, Array], Array]
    g_loss: Callable[[Array, Array], Array]
    needs_real_for_g: bool = False  # the relativistic generator losses look at D(real) too


def _minimax(smoothing: float) -> GANLoss:
    d = lambda r, f: jnp.mean(_bce_real(r, smoothing)) + jnp.mean(softplus(f))
    return GANLoss('minimax', d, lambda r, f: -jnp.mean(softplus(f)))


def _non_saturating(smoothing: float) -> GANLoss:
    d = lambda r, f: jnp.mean(_bce_real(r, smoothing)) + jnp.mean(softplus(f))
    return GANLoss('non_saturating', d, lambda r, f: jnp.mean(softplus(-f)))


def _wasserstein(smoothing: float) -> GANLoss:
    return GANLoss('wasserstein', lambda r, f: jnp.mean(f) - jnp.mean(r), lambda r, f: -jnp.mean(f))


def _hinge(smoothing: float) -> GANLoss:
    d = lambda r, f: jnp.mean(jax.nn.relu(1.0 - r)) + jnp.mean(jax.nn.relu(1.0 + f))
    return GANLoss('hinge', d, lambda r, f: -jnp.mean(f))


def _least_squares(smoothing: float) -> GANLoss:
    target = 1.0 - smoothing
    d = lambda r, f: 0.5 * (jnp.mean((r - target) ** 2) + jnp.mean(f**2))
    return GANLoss('least_squares', d, lambda r, f: 0.5 * jnp.mean((f - 1.0) ** 2))


def _rpgan(smoothing: float) -> GANLoss:
    d = lambda r, f: jnp.mean(_bce_real(r - f, smoothing))
    return GANLoss('rpgan', d, lambda r, f: jnp.mean(softplus(-(f - r))), needs_real_for_g=True)


def _ragan(smoothing: float) -> GANLoss:
    def d(r, f):
        return jnp.mean(_bce_real(r - jnp.mean(f), smoothing)) + jnp.mean(softplus(f - jnp.mean(r)))

    def g(r, f):
        return jnp.mean(softplus(-(f - jnp.mean(r)))) + jnp.mean(softplus(r - jnp.mean(f)))

    return GANLoss('ragan', d, g, needs_real_for_g=True)


_LOSSES: dict[str, Callable[[float], GANLoss]] = {
    'minimax': _minimax,
    'non_saturating': _non_saturating,
    'wasserstein': _wasserstein,
    'hinge': _hinge,
    'least_squares': _least_squares,
    'rpgan': _rpgan,
    'ragan': _ragan,
}
_SMOOTHABLE = {'minimax', 'non_saturating', 'least_squares', 'rpgan', 'ragan'}


def get_loss(name: str, label_smoothing: float = 0.0) -> GANLoss:
    """Look up a loss by its config name (``config.loss.name``)."""
    if name not in _LOSSES:
        raise ConfigError(f"unknown loss.name {name!r}; valid names: {', '.join(sorted(_LOSSES))}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ConfigError(f'loss.label_smoothing must be in [0, 1), got {label_smoothing}')
    if label_smoothing and name not in _SMOOTHABLE:
        raise ConfigError(f'loss.label_smoothing does not apply to the {name!r} loss')
    return _LOSSES[name](float(label_smoothing))


def auxiliary_classifier(cls_logits: Array, labels: Array) -> Array:
    """Mean cross-entropy ``-log softmax(cls_logits)[label]`` (AC-GAN's class term)."""
    log_p = jax.nn.log_softmax(cls_logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None].astype(jnp.int32), axis=-1))


def loss_names() -> list[str]:
    return sorted(_LOSSES)
