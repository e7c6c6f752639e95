"""SNGAN (Miyato et al. 2018) on Fashion-MNIST resized to 32x32: the ResNet discriminator with
spectral norm on every layer, the hinge loss, Adam (2e-4, 0, 0.9) and 5 critic steps per generator step,
as in the paper's CIFAR ResNet runs; width 64 instead of 128 for a CPU budget.

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'fashion_mnist'
    c.data.image_size = 32
    c.model.name = 'resnet'
    c.model.width = 64
    c.model.latent_dim = 128
    c.model.d_spectral_norm = True
    c.loss.name = 'hinge'
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.0
    c.train.b2 = 0.9
    c.train.d_steps = 5
    c.train.batch_size = 64
    c.train.num_steps = 5000
    c.train.lr_schedule = 'linear'
    c.train.log_every = 250
    c.eval.num_samples = 100
    return c
