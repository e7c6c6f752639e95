"""Pix2Pix (Isola et al. 2017) on CMP Facades, labels to photos at 256x256: the paper's recipe.

U-Net (8 levels to 1x1, width 64, dropout 0.5), 70x70 PatchGAN, L1 weight 100, Adam 2e-4 (beta1 0.5),
batch 1, 200 epochs of the 400 training pairs (100 at a constant rate, 100 decaying linearly to 0),
random jitter (resize to 286, random 256 crop, flip; the same for both images of a pair).

Data: TFDS ``cycle_gan/facades`` by default (splits trainA/trainB, paired by index); locally, the pix2pix
release's ``facades/`` folder of side-by-side photo|label images: ``--config.data.path=.../facades``
(``train/``, ``test/``), where ``data.direction='BtoA'`` makes the labels the input.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'cycle_gan/facades'
    c.data.pairing = 'paired'
    c.data.direction = 'BtoA'
    c.data.channels = 3
    c.data.image_size = 256
    c.data.load_size = 286
    c.data.random_flip = True
    c.game.name = 'pix2pix'
    c.model.name = 'pix2pix'
    c.model.width = 64
    c.loss.name = 'non_saturating'
    c.translation.l1_weight = 100.0
    c.translation.patch_layers = 3  # 70x70
    c.train.batch_size = 1
    c.train.num_steps = 80_000  # 200 epochs of 400 pairs
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.lr_schedule = 'constant_then_linear'
    c.train.ema_decay = 0.0
    c.train.log_every = 1000
    c.eval.num_samples = 64
    c.checkpoint.every_steps = 5000
    return c
