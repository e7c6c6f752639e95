"""ProGAN (Karras et al. 2018) on Fashion-MNIST resized to 32x32: progressive growing 4 -> 8 -> 16 -> 32,
each new resolution faded in over ``style.stage_steps`` steps then trained stably as long; pixel norm,
minibatch stddev, equalised learning rate, WGAN-GP (lambda 10) with the drift term 0.001, Adam(0.001,
0, 0.99), one critic step per generator step, as in the paper; 32 channels and batch 32 for a CPU budget.

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'fashion_mnist'
    c.data.image_size = 32
    c.game.name = 'progan'
    c.model.name = 'progan'
    c.model.width = 32
    c.model.latent_dim = 128
    c.penalty.name = 'wgan_gp'
    c.penalty.weight = 10.0
    c.style.stage_steps = 500  # 4 stages: 500 + 3 x (500 fade + 500 stable) = 3500 steps
    c.style.drift = 0.001
    c.train.g_lr = 0.001
    c.train.d_lr = 0.001
    c.train.b1 = 0.0
    c.train.b2 = 0.99
    c.train.batch_size = 32
    c.train.num_steps = 3500
    c.train.ema_decay = 0.999
    c.train.log_every = 250
    c.eval.num_samples = 100
    return c
