"""StyleGAN (Karras et al. 2019) on Fashion-MNIST resized to 32x32: AdaIN on a learned constant, noise
inputs, an 8-layer mapping network (lr x 0.01), style mixing 0.9, ProGAN's discriminator, the
non-saturating loss with R1 every step, Adam(0.001, 0, 0.99), EMA; no path-length term (StyleGAN2's).
32 channels, w of 128, batch 32 and R1 gamma 0.01 (the StyleGAN2 recipe's) for a CPU budget.

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.stylegan2_fashion import get_config as stylegan2_config


def get_config():
    c = stylegan2_config()
    c.game.name = 'stylegan'
    c.model.name = 'stylegan'
    c.style.mapping_layers = 8
    c.style.r1_every = 1
    c.style.pl_weight = 0.0
    c.train.g_lr = 0.001
    c.train.d_lr = 0.001
    return c
