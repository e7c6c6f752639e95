"""Class-conditional BigGAN on CIFAR-10 at the small scale of StudioGAN's CIFAR run: width 256, latent
128 (4 chunks of 32), shared embedding, spectral norm in G and D, hinge loss, G 2e-4 / D 2e-4 with Adam
(0, 0.999), 4 D steps, EMA of G from step 1000, batch 64, 100k G steps.

Offline: ``--config.data.path=../shared/data/cifar10-test-jpeg/cifar10_test.npz``.
"""

from experiments.biggan_fashion import get_config as biggan_config


def get_config():
    c = biggan_config()
    c.data.name = 'cifar10'
    c.data.image_size = 0
    c.model.width = 256
    c.model.latent_dim = 128
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.d_steps = 4
    c.train.num_steps = 100_000
    c.train.log_every = 1000
    return c
