"""StyleGAN2 (Karras et al. 2020) on Fashion-MNIST padded/resized to 32x32: the skip generator and
residual discriminator, non-saturating loss, lazy R1 (every 16) and path-length regularisation (every 4),
style mixing 0.9, EMA, Adam(0.0025, 0, 0.99) as in the paper; shrunk for a CPU budget (32 channels, w of
128 from a 2-layer mapping as in StyleGAN2-ADA's CIFAR configuration, batch 32, R1 gamma from the
reference heuristic 0.0002 * 32^2 / 32 ~ 0.01).

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'fashion_mnist'
    c.data.image_size = 32
    c.game.name = 'stylegan2'
    c.model.name = 'stylegan2'
    c.model.width = 32
    c.model.latent_dim = 128
    c.style.w_dim = 128
    c.style.mapping_layers = 2
    c.style.r1_gamma = 0.01
    c.train.g_lr = 0.0025
    c.train.d_lr = 0.0025
    c.train.b1 = 0.0
    c.train.b2 = 0.99
    c.train.batch_size = 32
    c.train.num_steps = 3000
    c.train.ema_decay = 0.999
    c.train.log_every = 250
    c.eval.num_samples = 100
    return c
