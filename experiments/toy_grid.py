"""5x5 grid of Gaussians (means {-4,-2,0,2,4}^2, std 0.05): the PacGAN/VEEGAN mode-collapse benchmark."""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'grid'
    c.data.num_modes = 25
    c.data.std = 0.05
    c.data.spacing = 2.0
    c.train.num_steps = 6000
    c.train.lr_schedule = 'linear'
    c.train.ema_decay = 0.0
    c.penalty.name = 'r1'
    c.penalty.weight = 1.0
    return c
