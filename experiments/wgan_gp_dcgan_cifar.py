"""WGAN-GP on CIFAR-10 with the DCGAN-size model of the WGAN-GP paper's CIFAR code (Gulrajani et al. 2017).

The recipe of the paper's CIFAR experiment: Wasserstein loss, gradient penalty with lambda 10, five critic
updates per generator update, batch 64, Adam(1e-4, 0.5, 0.9), 128-d normal latents, base width 64. It is
also the model and recipe that benchmarks/speed.py times.
"""

from experiments import base


def get_config():
    c = base.get_config()
    c.data.name = 'cifar10'
    c.model.name = 'wgan_gp_dcgan'
    c.model.latent_dim = 128
    c.model.width = 64
    c.loss.name = 'wasserstein'
    c.penalty.name = 'wgan_gp'
    c.penalty.weight = 10.0
    c.train.d_steps = 5
    c.train.batch_size = 64
    c.train.g_lr = 1e-4
    c.train.d_lr = 1e-4
    c.train.b1 = 0.5
    c.train.b2 = 0.9
    c.train.num_steps = 100000
    return c
