"""Fashion-MNIST, DCGAN, minimax loss; otherwise the protocol of fashion_mnist_non_saturating.py."""

from experiments.fashion_mnist_non_saturating import get_config as protocol


def get_config():
    c = protocol()
    c.loss.name = 'minimax'
    return c
