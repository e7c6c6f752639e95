"""CycleGAN (Zhu et al. 2017) on horse2zebra at 256x256: the paper's recipe.

ResNet generators with 9 residual blocks (width 64), 70x70 PatchGANs, least squares, cycle weight 10,
identity 0.5 * 10, a pool of 50 generated images, Adam 2e-4 (beta1 0.5), batch 1, 200 epochs (100 at a
constant rate, 100 decaying linearly to 0), resize to 286 + random 256 crop + flip.

Data: TFDS ``cycle_gan/horse2zebra`` (trainA horses, trainB zebras); locally, the CycleGAN release's
folder: ``--config.data.path=.../horse2zebra`` (``trainA/``, ``trainB/``, ``testA/``, ``testB/``).
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'cycle_gan/horse2zebra'
    c.data.pairing = 'unpaired'
    c.data.channels = 3
    c.data.image_size = 256
    c.data.load_size = 286
    c.data.random_flip = True
    c.game.name = 'cyclegan'
    c.model.name = 'cyclegan'
    c.model.width = 64
    c.translation.cycle_weight = 10.0
    c.translation.identity_weight = 0.5
    c.translation.pool_size = 50
    c.translation.patch_layers = 3
    c.translation.resnet_blocks = 9
    c.train.batch_size = 1
    c.train.num_steps = 266_800  # 200 epochs of the 1334 horses
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.lr_schedule = 'constant_then_linear'
    c.train.ema_decay = 0.0
    c.train.log_every = 1000
    c.eval.num_samples = 64
    c.checkpoint.every_steps = 5000
    return c
