"""5x5 grid of Gaussians (means {-4,-2,0,2,4}^2, std 0.05): the PacGAN/VEEGAN mode-collapse benchmark.

Recipe found by measurement (benchmarks/RESULTS.md): as toy_ring (non-saturating + R1, Adam 1e-3 decayed
linearly to 0, no EMA) with deeper MLPs and a larger batch. Depth was what mattered: the samples between
modes (the 'bridges' any continuous generator of a connected latent draws) shrank from 46% of the mass
at depth 3 to 16% at depth 5 (6000 steps); R1 is applied lazily (every 4th critic update, scaled by 4)
to pay for the depth.
"""

from experiments.base import get_config as base_config


def get_config():
    c = base_config()
    c.data.name = 'grid'
    c.data.num_modes = 25
    c.data.std = 0.05
    c.data.spacing = 2.0
    c.model.depth = 4
    c.penalty.name = 'r1'
    c.penalty.weight = 1.0
    c.penalty.every = 4
    c.train.num_steps = 10000
    c.train.batch_size = 512
    c.train.g_lr = 1e-3
    c.train.d_lr = 1e-3
    c.train.lr_schedule = 'linear'
    c.train.ema_decay = 0.0
    c.train.log_every = 1000
    return c
