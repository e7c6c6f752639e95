"""StyleGAN2-ADA's CIFAR-10 configuration (Karras et al. 2020, the 'cifar' spec), for a GPU: 512 channels
at every resolution, w and z of 512, a 2-layer mapping network, batch 64, Adam(0.0025, 0, 0.99), R1
gamma 0.01 every 16 steps, no path-length regularisation and no style mixing (as that spec), minibatch
stddev over groups of 32, EMA with a 500k-image half-life (0.5^(64 / 500000) per step), 100M images.

Differences from the reference: the residual discriminator (the spec uses the 'orig' one), no adaptive
augmentation (ADA is another issue's), no conditioning.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'cifar10'
    c.data.random_flip = True
    c.game.name = 'stylegan2'
    c.model.name = 'stylegan2'
    c.model.width = 512
    c.model.latent_dim = 512
    c.style.w_dim = 512
    c.style.mapping_layers = 2
    c.style.mixing_prob = 0.0
    c.style.r1_gamma = 0.01
    c.style.pl_weight = 0.0
    c.style.mbstd_group = 32
    c.train.g_lr = 0.0025
    c.train.d_lr = 0.0025
    c.train.b1 = 0.0
    c.train.b2 = 0.99
    c.train.batch_size = 64
    c.train.num_steps = 1_562_500  # 100M images
    c.train.ema_decay = 0.99991
    c.train.log_every = 1000
    c.checkpoint.every_steps = 10000
    c.eval.num_samples = 10000
    return c
