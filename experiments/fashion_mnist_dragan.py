"""Fashion-MNIST, DCGAN, DRAGAN (Kodali et al. 2017): non-saturating loss with a gradient penalty of weight
10 around perturbed real data (c = 0.5); otherwise the protocol of fashion_mnist_non_saturating.py,
including its 7000 steps: the penalty's double backward costs a fifth of the step rate (9.7 against 12.3
steps/s on the project's quiet 2-core CPU), so they take ~12 minutes there. (It had 3600, sized from a
heavily loaded machine.)"""

from experiments.fashion_mnist_non_saturating import get_config as protocol


def get_config():
    c = protocol()
    c.penalty.name = 'dragan'
    c.penalty.weight = 10.0
    return c
