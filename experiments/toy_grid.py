"""5x5 grid of Gaussians (means {-4,-2,0,2,4}^2, std 0.05): the PacGAN/VEEGAN mode-collapse benchmark.

Recipe found by measurement (benchmarks/RESULTS.md): toy_ring's (non-saturating + R1, Adam 1e-3 decayed
linearly to 0, no EMA) with deeper MLPs and a larger batch. Depth was what mattered: the samples between
modes (the 'bridges' any continuous generator of a connected latent draws) shrank from 46% of the mass
at depth 3 to 16% at depth 5 (6000 steps); R1 is applied lazily (every 4th critic update, scaled by 4)
to pay for the depth.
"""

from experiments.toy_ring import get_config as ring_config


def get_config():
    c = ring_config()
    c.data.name = 'grid'
    c.data.num_modes = 25
    c.data.std = 0.05
    c.data.spacing = 2.0
    c.model.depth = 4
    c.penalty.every = 4
    c.train.batch_size = 512
    return c
