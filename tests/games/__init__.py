"""Small games that prove the step engine's shape holds for the GAN family beyond z -> G -> D.

Each module is a game as a user would write one (a ``build(config, spec, axis_name)`` function, chosen
with ``game.name='tests.games.<module>'``) on the tiny MLPs below; tests/test_games.py checks one step of
each against an independently written jax.grad/optax reference, and tests/test_parallel.py runs each in
the single, sharded and pmap modes. The real families come in their own modules under ganjax/games.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

softplus = jax.nn.softplus


class Net(nn.Module):
    """An MLP ``(x, cond) -> y``; with ``head`` it returns ``{head: y}`` (a discriminator's dict), and a
    one-unit output is squeezed to one number per example."""

    out: int
    width: int = 16
    head: str | None = None
    cross_example_state = False

    @nn.compact
    def __call__(self, x, cond=None, *, train: bool = True):
        h = x if cond is None else jnp.concatenate([x, cond], axis=-1)
        for _ in range(2):
            h = nn.leaky_relu(nn.Dense(self.width)(h), 0.2)
        y = nn.Dense(self.out)(h)
        y = y[:, 0] if self.out == 1 else y
        return {self.head: y} if self.head else y


def zeros(*shape):
    return jnp.zeros(shape, jnp.float32)
