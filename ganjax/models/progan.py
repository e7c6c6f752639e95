"""ProGAN networks (Karras et al. 2018): every stage of progressive growing in one module.

Both networks hold the layers of every resolution stage from initialisation on; ``stage`` (a Python
int, 0 = 4x4, ``S - 1`` = the full resolution) and the fade-in weight ``alpha`` (a traced scalar) pick
what runs. The game selects the stage with ``lax.switch`` on an index derived from the step, so the
compiled program is one for the whole run, and "growing copies the trained layers into the next stage"
holds by construction: stage ``s + 1`` runs the very parameters stage ``s`` trained, plus its new block.

Generator: ``z`` pixel-normalised -> dense to 4x4 -> 3x3 conv, then per stage 2x nearest upsampling and
two 3x3 convs; leaky ReLU(0.2) and pixelwise feature normalisation after every conv; a 1x1 toRGB per
stage. While stage ``s`` fades in, the output is ``(1 - alpha) up(toRGB_{s-1}(h_{s-1})) + alpha
toRGB_s(h_s)``. Images are returned at the full resolution (nearest upsampling of the stage's), so that
every stage's branch has one output shape.

Discriminator: the input is average-pooled to the stage's resolution; a 1x1 fromRGB, then per stage two
3x3 convs and 2x average pooling down to 4x4, where minibatch standard deviation, a 3x3 conv and two dense
layers give one logit (no activation: WGAN-GP). While stage ``s`` fades in, its block's output is blended
with ``fromRGB_{s-1}`` of the input pooled once more, weights ``alpha`` and ``1 - alpha``.

Every layer has an equalised learning rate (:mod:`ganjax.models.style`).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from ganjax.models.blocks import minibatch_stddev
from ganjax.models.style import EqConv, EqDense, LRELU_GAIN, normalize_2nd_moment, resolution_levels


def pixel_norm(x: jax.Array) -> jax.Array:
    """Pixelwise feature normalisation: each pixel's feature vector to unit second moment."""
    return normalize_2nd_moment(x, axis=-1)


def upsample_nearest(x: jax.Array, factor: int) -> jax.Array:
    return x if factor == 1 else jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def avg_pool(x: jax.Array, factor: int) -> jax.Array:
    if factor == 1:
        return x
    n, h, w, c = x.shape
    return x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def act(x: jax.Array) -> jax.Array:
    return nn.leaky_relu(x, 0.2)


class ProGANGenerator(nn.Module):
    """``G(z, cond, train, stage=S-1, alpha=1)`` -> images at the full resolution."""

    image_shape: tuple[int, int, int]
    width: int = 128
    impl: str = 'auto'
    cross_example_state = False

    @property
    def num_stages(self) -> int:
        return resolution_levels(self.image_shape) + 1

    def setup(self):
        c = self.width
        self.dense = EqDense(4 * 4 * c, gain=LRELU_GAIN / 4)  # the paper's 4x4 "conv" from a 1x1 latent
        self.conv0 = EqConv(c, 3, gain=LRELU_GAIN, impl=self.impl)
        self.blocks = [(EqConv(c, 3, gain=LRELU_GAIN, impl=self.impl), EqConv(c, 3, gain=LRELU_GAIN, impl=self.impl))
                       for _ in range(1, self.num_stages)]
        self.to_rgb = [EqConv(self.image_shape[-1], 1, impl=self.impl) for _ in range(self.num_stages)]

    def __call__(self, z: jax.Array, cond=None, *, train: bool = True, stage: int | None = None,
                 alpha: jax.Array | float = 1.0) -> jax.Array:
        if cond is not None:
            raise ValueError('the ProGAN generator takes no conditioning')
        if self.is_initializing():  # create every stage's parameters
            for s in range(self.num_stages - 1):
                self.grow(z, s, 1.0)
        return self.grow(z, self.num_stages - 1 if stage is None else stage, alpha)

    def grow(self, z: jax.Array, stage: int, alpha: jax.Array | float) -> jax.Array:
        c = self.width
        h = pixel_norm(act(self.dense(normalize_2nd_moment(z)).reshape(-1, 4, 4, c)))
        h = pixel_norm(act(self.conv0(h)))
        prev = h
        for s in range(1, stage + 1):
            prev = h
            h = upsample_nearest(h, 2)
            for conv in self.blocks[s - 1]:
                h = pixel_norm(act(conv(h)))
        img = self.to_rgb[stage](h)
        if stage > 0:
            img = (1.0 - alpha) * upsample_nearest(self.to_rgb[stage - 1](prev), 2) + alpha * img
        return upsample_nearest(img, 2 ** (self.num_stages - 1 - stage))


class ProGANDiscriminator(nn.Module):
    """``D(x, cond, train, stage=S-1, alpha=1)`` -> ``{'logits': (n,)}``; ``x`` at the full resolution."""

    image_shape: tuple[int, int, int]
    width: int = 128
    mbstd_group: int = 4
    impl: str = 'auto'
    cross_example_state = True  # minibatch standard deviation mixes the examples of a group

    @property
    def num_stages(self) -> int:
        return resolution_levels(self.image_shape) + 1

    def setup(self):
        c = self.width
        self.from_rgb = [EqConv(c, 1, gain=LRELU_GAIN, impl=self.impl) for _ in range(self.num_stages)]
        self.blocks = [(EqConv(c, 3, gain=LRELU_GAIN, impl=self.impl), EqConv(c, 3, gain=LRELU_GAIN, impl=self.impl))
                       for _ in range(1, self.num_stages)]
        self.conv_out = EqConv(c, 3, gain=LRELU_GAIN, impl=self.impl)
        self.fc = EqDense(c, gain=LRELU_GAIN)
        self.out = EqDense(1)

    def __call__(self, x: jax.Array, cond=None, *, train: bool = True, stage: int | None = None,
                 alpha: jax.Array | float = 1.0) -> dict[str, jax.Array]:
        if cond is not None:
            raise ValueError('the ProGAN discriminator takes no conditioning')
        if self.is_initializing():
            for s in range(self.num_stages - 1):
                self.shrink(x, s, 1.0)
        return {'logits': self.shrink(x, self.num_stages - 1 if stage is None else stage, alpha)}

    def shrink(self, x: jax.Array, stage: int, alpha: jax.Array | float) -> jax.Array:
        x = avg_pool(x, 2 ** (self.num_stages - 1 - stage))
        h = act(self.from_rgb[stage](x))
        for s in range(stage, 0, -1):
            for conv in self.blocks[s - 1]:
                h = act(conv(h))
            h = avg_pool(h, 2)
            if s == stage:
                h = alpha * h + (1.0 - alpha) * act(self.from_rgb[stage - 1](avg_pool(x, 2)))
        h = minibatch_stddev(h, self.mbstd_group, 1)
        h = act(self.conv_out(h))
        h = act(self.fc(h.reshape(h.shape[0], -1)))
        return self.out(h)[:, 0]


def stage_schedule(step: jax.Array, stage_steps: int, num_stages: int) -> tuple[jax.Array, jax.Array]:
    """``(stage, alpha)`` at ``step``: stage 0 for ``stage_steps`` steps, then each next stage fades in
    over ``stage_steps`` steps (alpha from 0 towards 1) and trains stably for ``stage_steps`` more; the
    last stage stays. Traced, so one compiled step follows the whole schedule."""
    phase = step // stage_steps
    stage = jnp.minimum((phase + 1) // 2, num_stages - 1)
    fading = (phase % 2 == 1) & ((phase + 1) // 2 <= num_stages - 1)
    alpha = jnp.where(fading, (step % stage_steps).astype(jnp.float32) / stage_steps, 1.0)
    return stage.astype(jnp.int32), alpha.astype(jnp.float32)


