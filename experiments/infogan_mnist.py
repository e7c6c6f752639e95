"""InfoGAN (Chen et al. 2016) on MNIST: 62 noise dimensions, one 10-way categorical code and two
continuous codes, the paper's MNIST networks (the DCGAN with a 1024-unit dense layer in G and D, batch
norm in both, a Q head of 128 units on D's dense layer), noise uniform on [-1, 1], information loss weight
1, Adam with G 1e-3 and D 2e-4 (beta1 0.5), batch 128 for 5000 steps: the settings of the paper's released
code. Uniform noise and batch 128 took the code-class agreement from 39-61% (normal noise, batch 64, three
seeds) to 99.6% and 91.9% (two seeds; benchmarks/RESULTS.md).

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
    c.model.dense = 1024
    c.model.latent_dist = 'uniform'
    c.train.g_lr = 1e-3
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.batch_size = 128
    c.train.num_steps = 5000
    c.train.ema_decay = 0.0
    c.train.log_every = 250
    c.eval.num_samples = 100
    return c
