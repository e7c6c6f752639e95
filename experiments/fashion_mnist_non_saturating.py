"""Fashion-MNIST, DCGAN, non-saturating loss: the shared protocol of the per-loss recipes.

The setting of Lucic et al. 2018 ("Are GANs Created Equal?") for Fashion-MNIST, on our 28x28 DCGAN
(G: 7x7x128 -> 14x14x64 -> 28x28x1 with batch norm; D: 64 -> 128 conv, no normalisation): batch 64,
Adam(2e-4, 0.5, 0.999), 64-d normal latents, plus an EMA of G (0.999), which their study did not use. The
step budget keeps each recipe within 20 minutes of training on the project's 2-core CPU at the step rate
measured there (benchmarks/RESULTS.md, Fashion-MNIST). Each ``fashion_mnist_<loss>.py`` imports this file
and changes only the loss, its regulariser and the optimiser settings its paper prescribes.

TFDS ``fashion_mnist`` by default; offline, the Debian copy:
``python -m ganjax.main --config=experiments/fashion_mnist_non_saturating.py --workdir=D \\
    --config.data.path=/usr/share/datasets/fashion-mnist``
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'fashion_mnist'
    c.model.name = 'dcgan'
    c.model.latent_dim = 64
    c.model.width = 64
    c.loss.name = 'non_saturating'
    c.train.batch_size = 64
    c.train.g_lr = 2e-4
    c.train.d_lr = 2e-4
    c.train.b1 = 0.5
    c.train.b2 = 0.999
    c.train.ema_decay = 0.999
    c.train.num_steps = 7000
    c.train.log_every = 1000
    c.eval.num_samples = 64
    c.checkpoint.every_steps = 5000
    return c
