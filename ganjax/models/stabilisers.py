"""Model-side stabilisers: minibatch discrimination and virtual batch normalisation (Salimans et al. 2016).

``MinibatchDiscrimination`` (the learned-tensor form): for features ``f_i`` (``A`` numbers per example) a
learned tensor ``T`` (``A x B x C``) gives ``M_i = f_i T`` (``B`` rows of ``C``); kernel ``b`` compares two
examples by ``c_b(i, j) = exp(-||M_i,b - M_j,b||_1)`` and example ``i`` receives
``o_b(i) = sum_j c_b(i, j)`` over the whole batch, ``j = i`` included as in the paper's formula. The ``B``
numbers are appended to ``f_i``: an example that looks like many others of its batch (a collapsed
generator's) stands out to D. Its output depends on the batch, so a discriminator using it has
cross-example state: the game then shows it the real and the fake batch in separate calls, and under
``pmap`` the batch it compares against is the device's own (the global batch in 'single' and 'sharded').

``VirtualBatchNorm``: normalises every example by the mean and variance of a *reference batch* fixed at
the start of training, not of its own batch, so that an example's output does not depend on the others it
is generated with. The layer receives the reference's activations as the first ``reference`` rows of its
input (the network runs the reference latents, kept in its ``vbn`` collection, together with the batch)
and normalises every row by their statistics (the paper's variant also mixes in the example itself,
weight ``1/(n+1)``; with 64+ reference examples that changes little, and without it the maths is plain).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


@jax.custom_vjp
def minibatch_similarity(m: jax.Array) -> jax.Array:
    """``o[i, b] = sum_j exp(-||m[i, b] - m[j, b]||_1)`` for ``m`` of shape ``(N, B, C)``.

    The L1 distances are summed one of the ``C`` columns at a time, so the largest array is ``(N, N, B)``,
    never ``(N, N, B, C)``. The gradient is written by hand: autodiff of the pairwise differences reduces
    them twice (once over each member of the pair) and keeps every column's signs, while the similarities
    are symmetric in the pair and the signs antisymmetric, so one reduction per column gives it. Forward
    and backward run 2-8x faster on a CPU at the recipes' sizes (``benchmarks/minibatch_similarity.py``).
    Where two entries tie exactly, |x| has no derivative; the hand gradient takes sign(0) = 0 there
    (autodiff of ``abs`` takes +1 for one member of the pair and -1 for the other).
    """
    return _similarity(m)[0]


def _similarity(m: jax.Array) -> tuple[jax.Array, jax.Array]:
    l1 = sum(jnp.abs(m[:, None, :, c] - m[None, :, :, c]) for c in range(m.shape[-1]))  # (N, N, B)
    e = jnp.exp(-l1)
    return jnp.sum(e, axis=1), e


def _similarity_fwd(m: jax.Array) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
    o, e = _similarity(m)
    return o, (m, e)


def _similarity_bwd(res: tuple[jax.Array, jax.Array], g: jax.Array) -> tuple[jax.Array]:
    # d/dm[p, b, c] of sum_i g[i, b] o[i, b] = -sum_j (g[p, b] + g[j, b]) e[p, j, b] sign(m[p, b, c] - m[j, b, c]):
    # m[p] appears in o[p] (as the first of each pair) and in every o[j] (as the second).
    m, e = res
    w = (g[:, None] + g[None, :]) * e
    return (jnp.stack([-jnp.sum(w * jnp.sign(m[:, None, :, c] - m[None, :, :, c]), axis=1)
                       for c in range(m.shape[-1])], axis=-1),)


minibatch_similarity.defvjp(_similarity_fwd, _similarity_bwd)


class MinibatchDiscrimination(nn.Module):
    """Appends ``kernels`` minibatch-similarity features to ``f`` (``(N, A)`` -> ``(N, A + kernels)``)."""

    kernels: int
    kernel_dim: int = 5
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, f: jax.Array) -> jax.Array:
        t = self.param('T', nn.initializers.normal(0.05), (f.shape[-1], self.kernels * self.kernel_dim))
        m = jnp.dot(f.astype(self.dtype), t.astype(self.dtype)).reshape(f.shape[0], self.kernels, self.kernel_dim)
        return jnp.concatenate([f, minibatch_similarity(m.astype(jnp.float32)).astype(f.dtype)], axis=-1)


class VirtualBatchNorm(nn.Module):
    """Normalisation by the statistics of the first ``reference`` rows, with a learned scale and offset."""

    reference: int
    epsilon: float = 1e-5
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        ref = x[:self.reference].astype(jnp.float32)
        axes = tuple(range(ref.ndim - 1))  # every axis but the channels: per-channel statistics
        mean, var = jnp.mean(ref, axis=axes), jnp.var(ref, axis=axes)
        scale = self.param('scale', nn.initializers.ones, (x.shape[-1],))
        bias = self.param('bias', nn.initializers.zeros, (x.shape[-1],))
        y = (x.astype(jnp.float32) - mean) * jax.lax.rsqrt(var + self.epsilon) * scale + bias
        return y.astype(self.dtype)


def reference_latents(module: nn.Module, z: jax.Array, labels: jax.Array | None, num_classes: int,
                      reference: int) -> tuple[jax.Array, jax.Array | None]:
    """``z`` (and ``labels``) with the module's fixed reference batch in front.

    The reference latents are drawn once, at initialisation, from the module's init key, and live in its
    ``vbn`` collection (part of the train state and its checkpoints, never trained); the reference labels
    cycle through the classes. Sampling with the saved collections therefore normalises by the same batch.
    """
    z_ref = module.variable('vbn', 'reference', lambda: jax.random.normal(
        module.make_rng('params'), (reference, z.shape[-1]), jnp.float32)).value
    z = jnp.concatenate([z_ref.astype(z.dtype), z], axis=0)
    if labels is not None and num_classes:
        labels = jnp.concatenate([jnp.arange(reference, dtype=labels.dtype) % num_classes, labels])
    return z, labels
