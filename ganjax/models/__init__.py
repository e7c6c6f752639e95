"""Model families, resolved by ``config.model.name``.

Every generator is called as ``G(z, cond, train=...)`` and returns samples in data space (images in
[-1, 1], NHWC); every discriminator as ``D(x, cond, train=...)`` and returns a dict: ``logits``, its raw
outputs (one per example here; any shape, such as a PatchGAN map, is allowed), and optionally other heads
(``features``, ``q``, ``cls``). ``cond`` is the conditioning pytree: class labels, an image, or None.
Every module says whether its output for one example depends on the other examples of the batch (batch
norm) with ``cross_example_state``; games read that property, never a model name. Models know nothing
of losses or optimisers.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.linen as nn
import jax.numpy as jnp

from ganjax.errors import ConfigError
from ganjax.models.biggan import BigGANGenerator
from ganjax.models.cyclegan import ResNetTranslator
from ganjax.models.dcgan import DCGANDiscriminator, DCGANGenerator, GPDCGANDiscriminator, GPDCGANGenerator
from ganjax.models.layers import resolve_impl
from ganjax.models.mlp import MLPDiscriminator, MLPGenerator
from ganjax.models.pix2pix import PatchGAN, UNetGenerator
from ganjax.models.projected import ProjectedDiscriminator
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
    return (MLPGenerator(out_dim=shape[0], **common),
            MLPDiscriminator(**common, spectral_norm=cfg.d_spectral_norm))


def _image(g_cls, d_cls, g: dict[str, str] | None = None, d: dict[str, str] | None = None):
    """A maker of ``(g_cls, d_cls)``; ``g``/``d`` map a module field to the ``config.model`` key it takes."""
    def make(cfg, shape, num_classes, axis):
        if len(shape) != 3:
            raise ConfigError(f'model {cfg.name} is for images, got examples of shape {shape}')
        common = dict(image_shape=tuple(shape), width=cfg.width, num_classes=num_classes,
                      conv_impl=resolve_impl(cfg.conv_impl), bn_axis_name=axis, dtype=compute_dtype(cfg))
        # a key missing from a config saved before it existed leaves the module's default (the option off)
        g_extra = {field: cfg[key] for field, key in (g or {}).items() if key in cfg}
        d_extra = {field: cfg[key] for field, key in (d or {}).items() if key in cfg}
        return g_cls(**common, **g_extra), d_cls(**common, **d_extra)

    return make


_MODELS: dict[str, Callable] = {
    'mlp': _mlp,
    'dcgan': _image(DCGANGenerator, DCGANDiscriminator, g={'batch_norm': 'g_batch_norm', 'attention': 'attention',
                                                                'spectral_norm': 'g_spectral_norm', 'dense': 'dense'},
                    d={'batch_norm': 'd_batch_norm', 'spectral_norm': 'd_spectral_norm', 'attention': 'attention',
                       'aux_classifier': 'aux_classifier', 'dense': 'dense'}),
    'wgan_gp_dcgan': _image(GPDCGANGenerator, GPDCGANDiscriminator),
    'biggan': _image(BigGANGenerator, ResNetDiscriminator, g={'attention': 'attention'},
                     d={'spectral_norm': 'd_spectral_norm', 'attention': 'attention',
                        'aux_classifier': 'aux_classifier'}),
    'projected': _image(DCGANGenerator, ProjectedDiscriminator, g={'batch_norm': 'g_batch_norm'}),
    'resnet': _image(ResNetGenerator, ResNetDiscriminator,
                     g={'spectral_norm': 'g_spectral_norm', 'attention': 'attention',
                        'conditioning': 'g_conditioning'},
                     d={'spectral_norm': 'd_spectral_norm', 'attention': 'attention',
                        'aux_classifier': 'aux_classifier'}),
    'pix2pix': _image(UNetGenerator, PatchGAN),  # image-to-image; the translation games set their options
    'cyclegan': _image(ResNetTranslator, PatchGAN),
}


def get_models(cfg, example_shape: tuple[int, ...], num_classes: int = 0,
               bn_axis_name: str | None = None) -> tuple[nn.Module, nn.Module]:
    """Build ``(generator, discriminator)`` from ``config.model`` for examples of ``example_shape``."""
    if cfg.name not in _MODELS:
        raise ConfigError(f"unknown model.name {cfg.name!r}; valid names: {', '.join(sorted(_MODELS))}")
    return _MODELS[cfg.name](cfg, tuple(example_shape), num_classes, bn_axis_name)
