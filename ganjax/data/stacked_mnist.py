"""Stacked MNIST: three MNIST digits as the R, G and B channels of one image, 10^3 = 1000 modes.

The mode-collapse benchmark of Metz et al. (unrolled GAN), VEEGAN and PacGAN: a generator that covers the
data makes all 1000 digit triples; one that collapses misses many. The mode of an example is
``100 * digit_R + 10 * digit_G + digit_B``; :mod:`ganjax.metrics.stacked_mnist` recovers it from samples.

Digits come from ``data.path`` (MNIST idx files, read by :mod:`ganjax.data.files` with ``data.split``) or,
with no path, from TFDS ``mnist`` (``data.split``, default ``train``). Offline, the only MNIST on this
project's machines is the 10k **test** set (``../shared/data/mnist``); the benchmark figures built on it
say so, since the published ones use the 60k training digits.

The dataset is ``data.max_examples`` stacks (default :data:`DEFAULT_STACKS`), each three digit indices drawn
uniformly with replacement from a generator seeded by ``(seed, tag)``: a fixed, finite training set like
the published benchmark's, served through the shared :class:`~ganjax.data.pipeline.ImageSource` (epochs,
processes, prefetch, determinism in ``(seed, step)``). Only the ``(N, 3)`` index table is stored; images
are assembled per batch. ``data.image_size`` 0 or 28 keeps 28x28; 32 pads 2 black pixels on each side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ganjax.data.pipeline import ImageSource
from ganjax.errors import ConfigError, DataError

NAME = 'stacked_mnist'
DEFAULT_STACKS = 100_000
NUM_MODES = 1000
_STACK_TAG = 0x73746B  # 'stk': the triples never share random numbers with the order or the flips


def mode_ids(digit_labels: np.ndarray) -> np.ndarray:
    """``(N, 3)`` digit classes (R, G, B) -> mode ids ``100 R + 10 G + B`` in ``[0, 1000)``."""
    d = np.asarray(digit_labels, np.int64)
    return 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]


def stack_triples(seed: int, num_stacks: int, num_digits: int) -> np.ndarray:
    """The ``(num_stacks, 3)`` digit indices of the dataset: a pure function of its arguments."""
    return np.random.default_rng([_STACK_TAG, seed]).integers(0, num_digits, (num_stacks, 3))


class StackStore:
    """A :class:`~ganjax.data.pipeline.Store` of stacks: ``take`` gathers three digits per example."""

    def __init__(self, digits: np.ndarray, labels: np.ndarray, triples: np.ndarray, pad: int = 0):
        self.digits = digits  # (D, 28, 28) uint8
        self.labels = labels  # (D,) int
        self.triples = triples
        self.pad = pad

    def __len__(self) -> int:
        return len(self.triples)

    def take(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = self.triples[indices]
        images = np.stack([self.digits[t[:, c]] for c in range(3)], axis=-1)  # (n, 28, 28, 3)
        if self.pad:
            p = self.pad
            images = np.pad(images, ((0, 0), (p, p), (p, p), (0, 0)))
        return images, mode_ids(self.labels[t]).astype(np.int32)


def load_digits(cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits ``(N, 28, 28)`` uint8 and their labels, from ``cfg.path`` or TFDS ``mnist``."""
    if cfg.path:
        from ganjax.data.files import read_files

        images, labels, _ = read_files(cfg.path, cfg.split, 0, 1, 0)
        where = f'data.path {cfg.path!r}'
    else:
        import ml_collections

        from ganjax.data.tfds import load_tfds

        mnist = ml_collections.ConfigDict(cfg.to_dict())
        mnist.name, mnist.image_size, mnist.channels, mnist.max_examples = 'mnist', 0, 1, 0
        store, _ = load_tfds(mnist)
        images, labels = store.take(np.arange(len(store)))
        where = "TFDS dataset 'mnist'"
    if labels is None:
        raise DataError(f'{where}: stacked_mnist needs digit labels (the idx labels file beside the images)')
    if images.shape[1:] != (28, 28, 1) or labels.min() < 0 or labels.max() > 9:
        raise DataError(f'{where}: stacked_mnist needs 28x28 grayscale digits labelled 0-9, got images '
                        f'{images.shape[1:]} and labels in [{labels.min()}, {labels.max()}]')
    return images[..., 0], labels.astype(np.int64)


def get_stacked_mnist(cfg: Any, seed: int) -> ImageSource:
    """The Stacked-MNIST source for ``config.data`` (``data.name = 'stacked_mnist'``)."""
    if cfg.image_size not in (0, 28, 32):
        raise ConfigError(f'stacked_mnist: data.image_size must be 0 or 28 (28x28) or 32 (padded), '
                          f'got {cfg.image_size}')
    if cfg.channels not in (0, 3):
        raise ConfigError(f'stacked_mnist images have 3 channels; data.channels must be 0 or 3, '
                          f'got {cfg.channels}')
    if cfg.max_examples < 0:
        raise ConfigError(f'data.max_examples must be >= 0, got {cfg.max_examples}')
    if cfg.random_flip:
        raise ConfigError('stacked_mnist: data.random_flip would mirror digits into non-digits; turn it off')
    digits, labels = load_digits(cfg)
    triples = stack_triples(seed, cfg.max_examples or DEFAULT_STACKS, len(digits))
    pad = 2 if cfg.image_size == 32 else 0
    size = 28 + 2 * pad
    num_classes = 0
    if cfg.conditional:
        num_classes = cfg.num_classes or NUM_MODES
        if num_classes < NUM_MODES:
            raise DataError(f'stacked_mnist has {NUM_MODES} modes, more than data.num_classes={cfg.num_classes}')
    return ImageSource(NAME, StackStore(digits, labels, triples, pad), (size, size, 3), num_classes, seed,
                       False, cfg.prefetch)
