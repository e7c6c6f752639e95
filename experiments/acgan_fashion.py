"""AC-GAN (Odena et al. 2017) on 28x28 Fashion-MNIST: G conditioned by concatenation, D with a class head
instead of a projection; G is trained on the class cross-entropy of its samples (weight
``loss.aux_weight``), D's head on that of the real examples only (``loss.aux_fake=False``): the paper's D
also classifies the fakes, which here let G satisfy a head it helps to train (class accuracy 76% against
91% by the independent classifier, benchmarks/RESULTS.md). Otherwise the ``cgan_fashion.py`` recipe
(spectral norm in D, the hinge loss), so the two differ only in how D sees the class.
"""

from experiments.cgan_fashion import get_config as cgan_config


def get_config():
    c = cgan_config()
    c.model.aux_classifier = True
    c.loss.aux_weight = 1.0
    c.loss.aux_fake = False
    return c
