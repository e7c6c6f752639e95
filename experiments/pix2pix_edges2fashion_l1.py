"""The L1-only baseline of experiments/pix2pix_edges2fashion.py: the same U-Net and settings, trained on
``100 * |G(edges) - item|`` alone (``translation.gan_weight = 0``: no discriminator), Pix2Pix's ablation."""

from experiments.pix2pix_edges2fashion import get_config as pix2pix_config


def get_config():
    c = pix2pix_config()
    c.translation.gan_weight = 0.0
    return c
