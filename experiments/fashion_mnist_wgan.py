"""Fashion-MNIST, DCGAN, WGAN with weight clipping (Arjovsky et al. 2017): five critic updates per generator
update, critic weights clipped to [-0.01, 0.01], RMSProp 5e-5 (the paper's settings); otherwise the protocol
of fashion_mnist_non_saturating.py. Fewer generator steps, since each costs five critic updates: 3000,
sized from 2.6 steps/s measured on the project's 2-core CPU while it ran a second job. The EMA of G starts
at step 1000, for the reason given in fashion_mnist_wgan_gp.py."""

from experiments.fashion_mnist_non_saturating import get_config as protocol


def get_config():
    c = protocol()
    c.loss.name = 'wasserstein'
    c.train.weight_clip = 0.01
    c.train.d_steps = 5
    c.train.optimizer = 'rmsprop'
    c.train.g_lr = 5e-5
    c.train.d_lr = 5e-5
    c.train.num_steps = 3000
    c.train.ema_start = 1000
    return c
