"""StyleGAN3-T (Karras et al. 2021), the honest subset in ganjax/models/stylegan3.py, on Fashion-MNIST
resized to 32x32: Fourier-feature input translated by w, six modulated-conv layers with filtered
(upsample, leaky ReLU, low-pass, downsample) nonlinearities, StyleGAN2's discriminator, non-saturating
loss with lazy R1, no path-length term and no style mixing (the paper's configuration), EMA; Adam(0.0025,
0, 0.99); 32 channels, w of 128 from a 2-layer mapping, batch 32 for a CPU budget.

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'fashion_mnist'
    c.data.image_size = 32
    c.game.name = 'stylegan3'
    c.model.name = 'stylegan3'
    c.model.width = 32
    c.model.latent_dim = 128
    c.style.w_dim = 128
    c.style.mapping_layers = 2
    c.style.mixing_prob = 0.0
    c.style.pl_weight = 0.0
    c.style.r1_gamma = 0.01
    c.train.g_lr = 0.0025
    c.train.d_lr = 0.0025
    c.train.b1 = 0.0
    c.train.b2 = 0.99
    c.train.batch_size = 32
    c.train.num_steps = 3000
    c.train.ema_decay = 0.999
    c.train.log_every = 250
    c.eval.num_samples = 100
    return c
