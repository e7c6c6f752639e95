"""Stacked MNIST (1000 modes), DCGAN baseline: the mode-collapse benchmark of Metz et al. 2017 / PacGAN.

Three MNIST digits as the R, G, B channels, padded to 32x32 (ganjax/data/stacked_mnist.py); the DCGAN of
``dcgan_mnist.py`` scaled to 32x32x3 with the non-saturating loss and batch norm in G. Score it with
``python benchmarks/quality.py --experiment=stacked_mnist --reference=PATH_TO_MNIST_IDX`` (modes hit of
1000 and KL(p || uniform) over 26,000 samples, ganjax/metrics/stacked_mnist.py).

TFDS ``mnist`` (train split) by default; offline only the MNIST *test* digits exist on these machines:
``python -m ganjax.main --config=experiments/stacked_mnist.py --workdir=D \\
    --config.data.path=../shared/data/mnist --config.data.split=test``
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'stacked_mnist'
    c.data.image_size = 32
    c.model.name = 'dcgan'
    c.model.latent_dim = 100
    c.model.width = 64
    c.loss.name = 'non_saturating'
    c.train.batch_size = 64
    c.train.b1 = 0.5
    c.train.ema_decay = 0.999
    c.train.num_steps = 10000
    c.train.log_every = 1000
    c.eval.num_samples = 64
    c.checkpoint.every_steps = 5000
    return c
