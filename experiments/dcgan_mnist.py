"""DCGAN on MNIST (TFDS 'mnist'), non-saturating loss: digit-like samples within a few hundred steps on CPU.

Offline, point it at the idx files with one flag:
``python -m ganjax.main --config=experiments/dcgan_mnist.py --workdir=D \\
    --config.data.path=../shared/data/mnist``
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'mnist'
    c.model.name = 'dcgan'
    c.model.latent_dim = 64
    c.model.width = 32
    c.loss.name = 'non_saturating'
    c.train.num_steps = 300
    c.train.batch_size = 64
    c.train.g_lr = 5e-4  # above DCGAN's 2e-4: clean strokes within 300 steps (2e-4 gave blobs on grey)
    c.train.d_lr = 5e-4
    c.train.b1 = 0.5
    c.train.ema_decay = 0.95  # a short EMA window suits runs of a few hundred steps
    c.train.log_every = 50
    c.eval.num_samples = 64
    return c
