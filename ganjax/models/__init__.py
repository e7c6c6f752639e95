"""Model families, resolved by ``config.model.name``.

Every generator is called as ``G(z, labels, train=...)`` and returns samples in data space (images in
[-1, 1], NHWC); every discriminator as ``D(x, labels, train=...)`` and returns one raw output per example,
shape ``(batch,)``. Models know nothing of losses or optimisers.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.dcgan import DCGANDiscriminator, DCGANGenerator, GPDCGANDiscriminator, GPDCGANGenerator
from ganjax.models.layers import resolve_impl
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator
from ganjax.models.resnet import ResNetDiscriminator, ResNetGenerator


# model.dtype: the compute dtype of every layer. Parameters, optimiser states, the networks' outputs and
# so the losses stay float32 (mixed precision); bfloat16 needs no loss scaling, having float32's range.
DTYPES: dict[str, Any] = {'float32': jnp.float32, 'bfloat16': jnp.bfloat16}


def compute_dtype(cfg) -> Any:
    """The dtype ``config.model.dtype`` names ('float32' where a saved config predates the key)."""
    name = cfg.get('dtype', 'float32')
    if name not in DTYPES:
        raise ConfigError(f"unknown model.dtype {name!r}; valid: {', '.join(DTYPES)}")
    return DTYPES[name]


def _mlp(cfg, shape, num_classes, axis):
    if len(shape) != 1:
        raise ConfigError(f'model mlp is for vector data, got examples of shape {shape}; try dcgan')
    common = dict(width=cfg.width, depth=cfg.depth, num_classes=num_classes, dtype=compute_dtype(cfg))
    return MLPGenerator(out_dim=shape[0], **common), MLPDiscriminator(**common)


def _image(g_cls, d_cls, **extra):
    def make(cfg, shape, num_classes, axis):
        if len(shape) != 3:
            raise ConfigError(f'model {cfg.name} is for images, got examples of shape {shape}')
        common = dict(image_shape=tuple(shape), width=cfg.width, num_classes=num_classes,
                      conv_impl=resolve_impl(cfg.conv_impl), bn_axis_name=axis, dtype=compute_dtype(cfg))
        g_extra = {k: cfg.g_batch_norm for k in extra.get('g', ())}
        d_extra = {k: cfg.d_batch_norm for k in extra.get('d', ())}
        return g_cls(**common, **g_extra), d_cls(**common, **d_extra)

    return make


_MODELS: dict[str, Callable] = {
    'mlp': _mlp,
    'dcgan': _image(DCGANGenerator, DCGANDiscriminator, g=('batch_norm',), d=('batch_norm',)),
    'wgan_gp_dcgan': _image(GPDCGANGenerator, GPDCGANDiscriminator),
    'resnet': _image(ResNetGenerator, ResNetDiscriminator),
}


def get_models(cfg, example_shape: tuple[int, ...], num_classes: int = 0,
               bn_axis_name: str | None = None) -> tuple[nn.Module, nn.Module]:
    """Build ``(generator, discriminator)`` from ``config.model`` for examples of ``example_shape``."""
    if cfg.name not in _MODELS:
        raise ConfigError(f"unknown model.name {cfg.name!r}; valid names: {', '.join(sorted(_MODELS))}")
    return _MODELS[cfg.name](cfg, tuple(example_shape), num_classes, bn_axis_name)
