"""BigGAN (Brock et al. 2019) at small scale, class-conditional, on Fashion-MNIST at 32x32: hierarchical
latents (120 = 4 chunks of 30) and a shared class embedding into conditional batch norm, spectral norm in
G and D, the projection discriminator, hinge loss, G 1e-4 / D 4e-4 with Adam (0, 0.999), 2 D steps,
orthogonal regularisation 1e-4 and an EMA of G from step 1000 (sample it with ``--truncation``).
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.data.conditional = True
    c.model.name = 'biggan'
    c.model.latent_dim = 120
    c.penalty.g_orthogonal = 1e-4
    c.train.g_lr = 1e-4
    c.train.d_lr = 4e-4
    c.train.b2 = 0.999
    c.train.d_steps = 2
    c.train.lr_schedule = 'constant'
    c.train.ema_decay = 0.999
    c.train.ema_start = 1000
    return c
