"""Class-conditional GAN on 28x28 Fashion-MNIST with the projection discriminator (Miyato & Koyama 2018):
D adds ``embed(y) . phi(x)`` to its output, G takes the one-hot class with ``z``; spectral norm in D, the
hinge loss; the ``sngan_fashion.py`` recipe otherwise. Sample by class with ``ganjax.sample --class``.
(Conditional batch norm in G is the ResNet generator's ``model.g_conditioning=cbn``, used by BigGAN.)
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.data.conditional = True
    return c
