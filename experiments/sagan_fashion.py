"""SAGAN (Zhang et al. 2019) on 28x28 Fashion-MNIST: spectral norm in G and D, self-attention on the 14x14
feature maps of both, the hinge loss, TTUR (G 1e-4, D 4e-4, Adam betas 0 and 0.9), one D step per G step;
the SN-DCGAN of ``sngan_fashion.py`` otherwise (SAGAN's ResNet at 32x32 is ``model.name=resnet`` with
``model.attention=16``, too slow for this CPU's budget).
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.model.g_spectral_norm = True
    c.model.attention = 14
    c.train.g_lr = 1e-4
    c.train.d_lr = 4e-4
    c.train.b1 = 0.0
    c.train.b2 = 0.9
    return c
