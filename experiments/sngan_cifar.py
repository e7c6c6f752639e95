"""SNGAN on CIFAR-10 as Mimicry/StudioGAN run it: the ResNet (width 128) with spectral norm in D, hinge
loss, Adam (2e-4, 0, 0.9) decayed linearly, 5 D steps per G step, batch 64, 100k G steps.

Offline: ``--config.data.path=../shared/data/cifar10-test-jpeg/cifar10_test.npz``.
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.data.name = 'cifar10'
    c.data.image_size = 0
    c.model.width = 128
    c.train.num_steps = 100_000
    c.train.log_every = 1000
    return c
