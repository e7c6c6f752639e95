"""Projected GAN's discriminator (Sauer et al. 2021): small discriminators on a frozen feature network.

The image goes through a pretrained network that is never trained (``feature_net``); its feature maps at
two scales are projected by fixed random 1x1 convolutions (the paper's cross-channel mixing, CCM; its
cross-scale mixing, CSM, is left out), and one small discriminator per scale (stride-2 convolutions with
spectral norm down to a few pixels, then a linear layer) gives that scale's logit. ``logits`` are the two
scales' (one column each; the losses average them).

Frozen means neither optimised nor differentiated: the feature network's weights and the projections live
in the ``frozen`` collection (never in ``params``, so no optimiser sees them), are read through
``stop_gradient``, and are written once, at initialisation.

Feature networks (``stabilise.projected_features``):

* ``inception``: the stem of the FID Inception (convs ``conv`` to ``conv_4``, batch norm folded, from the
  cached FID weights; :mod:`ganjax.metrics.inception`) on the image resized to 64x64 and made RGB; the
  maps after ``conv_2`` (29x29x64) and ``conv_4`` (12x12x192). It is the only pretrained image network
  offline, and using it biases FID towards the generator trained against it (Kynkaanniemi et al. 2023):
  report KID, precision/recall and the Fashion classifier's feature distance beside FID.
* ``random``: the same stem's shapes with fixed random (He-normal) weights: the ablation that tells how
  much of the result is the pretrained features, and a network tests can build without the weights.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganjax.errors import ConfigError
from ganjax.models.layers import Conv, spectral

STEM = ('conv', 'conv_1', 'conv_2', 'conv_3', 'conv_4')  # the FID Inception's stem
TAPS = ('conv_2', 'conv_4')  # the maps the discriminators see
INPUT_SIZE = 64
PROJECTION = 64  # channels of each random 1x1 projection


def _stem_spec() -> dict[str, tuple[int, tuple[int, int], int, tuple[int, int]]]:
    from ganjax.metrics.weights import CONV_SPEC
    return {name: CONV_SPEC[name] for name in STEM}


def inception_stem(weights_path: str = '') -> dict[str, dict[str, np.ndarray]]:
    """The FID Inception's stem convolutions with batch norm folded: ``{name: {'kernel', 'bias'}}``."""
    from ganjax.metrics import inception
    from ganjax.metrics.weights import resolve_weights

    weights = resolve_weights(weights_path or None)
    return {name: dict(zip(('kernel', 'bias'), (a.astype(np.float32) for a in inception._folded(weights, name))))
            for name in STEM}


def random_stem(key: jax.Array) -> dict[str, dict[str, jax.Array]]:
    """The stem's shapes with He-normal weights and zero biases."""
    spec, out = _stem_spec(), {}
    in_ch = 3
    for key_i, name in zip(jax.random.split(key, len(STEM)), STEM):
        ch, (kh, kw), _, _ = spec[name]
        std = np.sqrt(2.0 / (kh * kw * in_ch))
        out[name] = {'kernel': std * jax.random.normal(key_i, (kh, kw, in_ch, ch)), 'bias': jnp.zeros((ch,))}
        in_ch = ch
    return out


def stem_features(stem: dict[str, dict[str, jax.Array]], x: jax.Array) -> list[jax.Array]:
    """The maps at ``TAPS`` of the stem on images ``x`` in [-1, 1] (any size; 1 or 3 channels)."""
    from ganjax.metrics.inception import conv_bn_relu, max_pool

    if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)
    x = jax.image.resize(x, (x.shape[0], INPUT_SIZE, INPUT_SIZE, 3), 'bilinear')
    taps = []
    for i, name in enumerate(STEM):
        x = conv_bn_relu(x, stem[name], name, jax.lax.Precision.DEFAULT)
        if name in TAPS:
            taps.append(x)
        if i in (2, 4):
            x = max_pool(x, 2, 0)
    return taps


class ProjectedDiscriminator(nn.Module):
    image_shape: tuple[int, int, int]
    width: int = 64
    num_classes: int = 0
    conv_impl: str = 'auto'
    bn_axis_name: str | None = None
    dtype: Any = jnp.float32
    feature_net: str = 'inception'  # 'inception' | 'random' (see the module docstring)
    weights_path: str = ''  # FID Inception weights ('' = the cache / $GANJAX_INCEPTION_WEIGHTS)
    cross_example_state = False  # every part sees one example at a time

    def _frozen_stem(self):
        if self.feature_net == 'inception':
            init = lambda: jax.tree.map(jnp.asarray, inception_stem(self.weights_path))
        elif self.feature_net == 'random':
            init = lambda: random_stem(self.make_rng('params'))
        else:
            raise ConfigError(f"unknown stabilise.projected_features {self.feature_net!r}; valid: inception, random")
        return jax.lax.stop_gradient(self.variable('frozen', 'stem', init).value)

    @nn.compact
    def __call__(self, x: jax.Array, labels: jax.Array | None = None, *, train: bool = True) -> dict:
        if self.num_classes:
            raise ConfigError('model projected is unconditional')
        feats = stem_features(self._frozen_stem(), x.astype(jnp.float32))
        logits, pooled = [], []
        for i, f in enumerate(feats):
            c = f.shape[-1]
            proj = self.variable('frozen', f'projection_{i}', lambda: jax.random.normal(
                self.make_rng('params'), (c, PROJECTION)) * np.sqrt(1.0 / c)).value
            h = jnp.einsum('bhwc,cd->bhwd', f, jax.lax.stop_gradient(proj)).astype(self.dtype)
            pooled.append(jnp.mean(h, axis=(1, 2)))
            ch = self.width
            while h.shape[1] > 4:
                h = spectral(Conv(ch, (4, 4), (2, 2), padding=((1, 1), (1, 1)), impl=self.conv_impl,
                                  dtype=self.dtype, name=f'scale{i}_conv{ch}'), self, train)(h)
                h = nn.leaky_relu(h, 0.2)
                ch = min(2 * ch, 8 * self.width)
            h = h.reshape(h.shape[0], -1)
            logits.append(spectral(nn.Dense(1, dtype=self.dtype, name=f'scale{i}_out'), self, train)(h)[:, 0])
        return {'logits': jnp.stack(logits, axis=1).astype(jnp.float32),
                'features': jnp.concatenate(pooled, axis=1).astype(jnp.float32)}
