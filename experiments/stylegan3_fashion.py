"""StyleGAN3-T (Karras et al. 2021), the honest subset in ganjax/models/stylegan3.py, on Fashion-MNIST
resized to 32x32: Fourier-feature input translated by w, six modulated-conv layers with filtered
(upsample, leaky ReLU, low-pass, downsample) nonlinearities, StyleGAN2's discriminator, non-saturating
loss with lazy R1, no path-length term and no style mixing (the paper's configuration), EMA; Adam(0.0025,
0, 0.99); 32 channels, w of 128 from a 2-layer mapping, batch 32 for a CPU budget.

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.stylegan2_fashion import get_config as stylegan2_config


def get_config():
    c = stylegan2_config()
    c.game.name = 'stylegan3'
    c.model.name = 'stylegan3'
    c.style.mixing_prob = 0.0
    c.style.pl_weight = 0.0
    return c
