"""AC-GAN (Odena et al. 2017) on 28x28 Fashion-MNIST: G conditioned by concatenation, D with a class head
instead of a projection, trained on the class cross-entropy of real and fake examples (G on the fake
ones), the non-saturating loss, Adam (2e-4, 0.5, 0.999), one D step per G step, no spectral norm; the
DCGAN of ``sngan_fashion.py`` otherwise.
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.data.conditional = True
    c.model.aux_classifier = True
    c.model.d_spectral_norm = False
    c.loss.name = 'non_saturating'
    c.loss.aux_weight = 1.0
    return c
