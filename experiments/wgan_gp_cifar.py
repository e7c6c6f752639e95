"""WGAN-GP (Gulrajani et al. 2017) ResNet recipe on CIFAR-10 (TFDS 'cifar10').

Adam lr 2e-4, betas (0, 0.9), 5 critic steps per generator step, lambda 10, batch 64, 100k generator steps,
width 128, latent 128. Offline: ``--config.data.path=../shared/data/cifar10-test-jpeg/cifar10_test.npz``.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'cifar10'
    c.data.random_flip = False
    c.model.name = 'resnet'
    c.model.width = 128
    c.model.latent_dim = 128
    c.model.g_batch_norm = True
    c.model.d_batch_norm = False
    c.loss.name = 'wasserstein'
    c.penalty.name = 'wgan_gp'
    c.penalty.weight = 10.0
    c.train.optimizer = 'adam'
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.0
    c.train.b2 = 0.9
    c.train.d_steps = 5
    c.train.batch_size = 64
    c.train.num_steps = 100_000
    c.train.log_every = 1000
    c.eval.num_samples = 100
    return c
