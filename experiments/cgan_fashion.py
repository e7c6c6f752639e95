"""Class-conditional GAN on Fashion-MNIST at 32x32 (Miyato & Koyama 2018): conditional batch norm in G,
the projection discriminator with spectral norm, the hinge loss; the SNGAN recipe otherwise.
Sample by class with ``ganjax.sample --class``.
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.data.conditional = True
    c.model.g_conditioning = 'cbn'
    return c
