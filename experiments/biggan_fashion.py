"""BigGAN (Brock et al. 2019) at small scale, class-conditional, on 28x28 Fashion-MNIST: hierarchical
latents (120 = 3 chunks of 40: the input layer and one per up-block, 7 -> 14 -> 28) and a shared class
embedding into conditional batch norm, spectral norm in G and D, the ResNet projection discriminator,
hinge loss, G 2e-4 / D 4e-4 with Adam (0, 0.999), orthogonal regularisation 1e-4 and an EMA of G from
step 1000 (sample it with ``--truncation``). Width 32, one D step per G step (the paper takes 2) and 6000
steps to fit 20 minutes of a 2-core CPU; ``biggan_cifar.py`` is the paper-sized CIFAR-10 recipe.

G's rate is twice the ImageNet paper's 1e-4 (its batch of 2048 takes far fewer, far better steps): with
1e-4 the class accuracy was still climbing at 5000 steps (82% there, 84% at 6200), while 2e-4 reaches
86% by 6000 (benchmarks/RESULTS.md, BigGAN).

``model.conv_impl='xla'``: the ResNet blocks' 3x3 stride-1 convolutions run about twice as fast through
XLA's own convolution as through the shifted-slices lowering that 'auto' picks on CPU for DCGAN's strided
and transposed ones (300-step runs here: 2.2-2.3 against 1.2 steps/s, same load).
"""

from experiments.sngan_fashion import get_config as sngan_config


def get_config():
    c = sngan_config()
    c.data.conditional = True
    c.model.name = 'biggan'
    c.model.width = 32
    c.model.latent_dim = 120
    c.penalty.g_orthogonal = 1e-4
    c.train.g_lr = 2e-4
    c.train.d_lr = 4e-4
    c.train.b1 = 0.0
    c.train.b2 = 0.999
    c.train.num_steps = 6000
    c.model.conv_impl = 'xla'
    return c
