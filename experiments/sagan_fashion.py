"""SAGAN (Zhang et al. 2019) on Fashion-MNIST at 32x32: spectral norm in G and D, self-attention on the
16x16 feature maps of both, the hinge loss, TTUR (G 1e-4, D 4e-4, Adam betas 0 and 0.9), one D step per
G step; the SNGAN ResNet otherwise (sngan_fashion.py).
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.model.g_spectral_norm = True
    c.model.attention = 16
    c.train.g_lr = 1e-4
    c.train.d_lr = 4e-4
    c.train.d_steps = 1
    c.train.lr_schedule = 'constant'
    c.train.num_steps = 10000
    return c
