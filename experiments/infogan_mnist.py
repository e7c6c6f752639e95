"""InfoGAN (Chen et al. 2016) on MNIST: 62 noise dimensions, one 10-way categorical code and two
continuous codes, a Q head on the discriminator's body, information loss weight 1, Adam with G 1e-3 and
D 2e-4 (beta1 0.5), batch norm in both networks, batch 64 (the paper's MNIST settings).

Reads TFDS ``mnist``; offline: ``--config.data.path=../shared/data/mnist`` (the 10k test digits).
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'mnist'
    c.game.name = 'infogan'
    c.game.categorical = 10
    c.game.continuous = 2
    c.game.info_weight = 1.0
    c.model.name = 'dcgan'
    c.model.width = 64
    c.model.latent_dim = 62
    c.model.d_batch_norm = True
    c.train.g_lr = 1e-3
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.batch_size = 64
    c.train.num_steps = 5000
    c.train.ema_decay = 0.0
    c.train.log_every = 250
    c.eval.num_samples = 100
    return c
