"""Fashion-MNIST, DCGAN, DRAGAN (Kodali et al. 2017): non-saturating loss with a gradient penalty of weight
10 around perturbed real data (c = 0.5); otherwise the protocol of fashion_mnist_non_saturating.py."""

from experiments.fashion_mnist_non_saturating import get_config as protocol


def get_config():
    c = protocol()
    c.penalty.name = 'dragan'
    c.penalty.weight = 10.0
    c.train.num_steps = 3600  # the penalty's double backward halves the CPU step rate
    return c
