"""Ring of 8 Gaussians (radius 1, std 0.01): the PacGAN/VEEGAN mode-collapse benchmark."""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'ring'
    c.train.num_steps = 3000
    c.penalty.name = 'r1'
    c.penalty.weight = 1.0
    return c
