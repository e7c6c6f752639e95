"""Fashion-MNIST, DCGAN, WGAN-GP (Gulrajani et al. 2017): gradient penalty 10, five critic updates per
generator update, Adam(1e-4, 0.5, 0.9) (the paper's settings); otherwise the protocol of
fashion_mnist_non_saturating.py. Fewer generator steps: each costs five critic updates with a penalty."""

from experiments.fashion_mnist_non_saturating import get_config as protocol


def get_config():
    c = protocol()
    c.loss.name = 'wasserstein'
    c.penalty.name = 'wgan_gp'
    c.penalty.weight = 10.0
    c.train.d_steps = 5
    c.train.g_lr = 1e-4
    c.train.d_lr = 1e-4
    c.train.b2 = 0.9
    c.train.num_steps = 900
    return c
