"""ganjax: GAN training on JAX/Flax with pure modules, one immutable state and compiled steps."""

__version__ = "0.1.0"
