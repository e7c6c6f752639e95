"""Pix2Pix (Isola et al. 2017) from edge maps to Fashion-MNIST items, 32x32 (the items padded by 2 pixels).

The paired task ganjax builds from real items (ganjax/data/paired.py): each training item with its own
Sobel edges; the test split is Fashion-MNIST's test set. U-Net generator (5 levels down to 1x1, dropout
as noise), 16x16 PatchGAN on (edges, item), non-saturating loss halved for D, L1 weight 100, Adam 2e-4
(beta1 0.5), constant rate for the first half then linearly to 0, no EMA: the paper's settings, at a
batch of 16 for CPU throughput (the paper: 1-4) and a width of 32 (the paper: 64).

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
The L1-only baseline: experiments/pix2pix_edges2fashion_l1.py.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'edges_fashion'
    c.data.pairing = 'paired'
    c.data.image_size = 32
    c.data.random_flip = True
    c.game.name = 'pix2pix'
    c.model.name = 'pix2pix'
    c.model.width = 32
    c.loss.name = 'non_saturating'
    c.translation.gan_weight = 1.0
    c.translation.l1_weight = 100.0
    c.translation.patch_layers = 1  # 16x16 patches of a 32x32 image (the paper's 70x70 of 256x256)
    c.train.batch_size = 16
    c.train.num_steps = 4000
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.lr_schedule = 'constant_then_linear'
    c.train.ema_decay = 0.0
    c.train.log_every = 250
    c.eval.num_samples = 64
    c.checkpoint.every_steps = 1000
    return c
