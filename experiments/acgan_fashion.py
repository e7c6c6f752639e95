"""AC-GAN (Odena et al. 2017) on 28x28 Fashion-MNIST: G conditioned by concatenation, D with a class head
instead of a projection, trained on the class cross-entropy of real and fake examples (G on the fake
ones, weight ``loss.aux_weight``); otherwise the ``cgan_fashion.py`` recipe (spectral norm in D, the hinge
loss), so the two differ only in how D sees the class.
"""

from experiments.cgan_fashion import get_config as cgan_config


def get_config():
    c = cgan_config()
    c.model.aux_classifier = True
    c.loss.aux_weight = 1.0
    return c
