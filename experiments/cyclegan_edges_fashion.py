"""CycleGAN (Zhu et al. 2017) between edge maps and Fashion-MNIST items, unpaired, 32x32.

Domain A: the edges of the first half of the training items; domain B: the other half's items (so no
edge map has its own item on the other side; ganjax/data/paired.py). Two ResNet generators (2 stride-2
levels, 4 residual blocks at width 16, sized for a 2-core CPU; the paper: 64 wide, 9 blocks at 256px), two 16x16 PatchGANs, least
squares, cycle weight 10, identity 0.5 * 10, a history pool of 50 generated images, Adam 2e-4 (beta1
0.5), constant rate for the first half then linearly to 0, no EMA; batch 8 for CPU throughput (the
paper: 1); 5000 steps, ~19 minutes on a 2-core CPU (benchmarks/RESULTS.md: the class accuracy it reaches).

Reads TFDS ``fashion_mnist``; offline: ``--config.data.path=/usr/share/datasets/fashion-mnist``.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'edges_fashion'
    c.data.pairing = 'unpaired'
    c.data.image_size = 32
    c.data.random_flip = True
    c.game.name = 'cyclegan'
    c.model.name = 'cyclegan'
    c.model.width = 16
    c.translation.cycle_weight = 10.0
    c.translation.identity_weight = 0.5
    c.translation.pool_size = 50
    c.translation.patch_layers = 1
    c.translation.resnet_blocks = 4
    c.train.batch_size = 8
    c.train.num_steps = 5000
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.lr_schedule = 'constant_then_linear'
    c.train.ema_decay = 0.0
    c.train.log_every = 250
    c.eval.num_samples = 64
    c.checkpoint.every_steps = 1000
    return c
