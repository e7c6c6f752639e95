"""SNGAN (Miyato et al. 2018) on 28x28 Fashion-MNIST, sized for a 2-core CPU: the SN-DCGAN of the paper's
"standard CNN" experiments (spectral norm on every layer of the DCGAN discriminator, batch norm in G), the
hinge loss and Adam (2e-4, 0.5, 0.999) with one D step per G step (the paper's setting with n_dis = 1).
The paper's CIFAR ResNet recipe is ``sngan_cifar.py``; at 32x32 with 5 critic steps it costs ~40x this
per generator step, hours on this CPU.

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'fashion_mnist'
    c.model.name = 'dcgan'
    c.model.width = 64
    c.model.latent_dim = 128
    c.model.d_spectral_norm = True
    c.loss.name = 'hinge'
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.b2 = 0.999
    c.train.batch_size = 64
    c.train.num_steps = 6000
    c.train.ema_decay = 0.999
    c.train.ema_start = 1000
    c.train.log_every = 500
    c.eval.num_samples = 100
    c.checkpoint.every_steps = 2000
    return c
