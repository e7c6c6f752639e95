"""The StyleGAN (v1) game (Karras et al. 2019): :func:`ganjax.games.stylegan2.style_game` with the AdaIN
generator and ProGAN's discriminator (its full-resolution stage). Non-saturating loss, R1 (the paper's
gamma 10 every step: set ``style.r1_every=1``), style mixing from the step's key, tracked ``w_avg``, EMA;
the path-length term is StyleGAN2's (set ``style.pl_weight=0`` for the paper's recipe)."""

from __future__ import annotations

from ganjax.games.core import Game
from ganjax.games.stylegan2 import check_images, style_game
from ganjax.models.layers import resolve_impl
from ganjax.models.progan import ProGANDiscriminator
from ganjax.models.stylegan import StyleGANGenerator


def build(config, spec, axis_name: str | None = None) -> Game:
    s, m = config.style, config.model
    check_images(spec, 'stylegan')
    impl = m.conv_impl
    resolve_impl(impl)  # checks the name now, not inside a trace
    generator = StyleGANGenerator(tuple(spec.example_shape), int(m.width), int(s.w_dim), int(s.mapping_layers),
                                  float(s.mapping_lr_mul), float(s.w_avg_beta), impl=impl)
    discriminator = ProGANDiscriminator(tuple(spec.example_shape), int(m.width), int(s.mbstd_group), impl)
    return style_game(config, spec, generator, discriminator)
