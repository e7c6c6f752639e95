"""The StyleGAN3-T game: :func:`ganjax.games.stylegan2.style_game` with the alias-free synthesis subset of
:mod:`ganjax.models.stylegan3` and StyleGAN2's residual discriminator (as the paper). The paper's
configuration has no path-length term and no style mixing: set ``style.pl_weight=0``,
``style.mixing_prob=0`` (experiments/stylegan3_fashion.py does)."""

from __future__ import annotations

from ganjax.games.core import Game
from ganjax.games.stylegan2 import check_images, style_game
from ganjax.models.layers import resolve_impl
from ganjax.models.style import resolve_form
from ganjax.models.stylegan2 import StyleGAN2Discriminator
from ganjax.models.stylegan3 import StyleGAN3Generator


def build(config, spec, axis_name: str | None = None) -> Game:
    s, m = config.style, config.model
    check_images(spec, 'stylegan3')
    impl, form = m.conv_impl, resolve_form(s.modconv_form)
    resolve_impl(impl)  # checks the name now, not inside a trace
    generator = StyleGAN3Generator(tuple(spec.example_shape), int(m.width), int(s.w_dim), int(s.mapping_layers),
                                   float(s.mapping_lr_mul), float(s.w_avg_beta), form=form, impl=impl)
    discriminator = StyleGAN2Discriminator(tuple(spec.example_shape), int(m.width), int(s.mbstd_group), impl)
    return style_game(config, spec, generator, discriminator)
