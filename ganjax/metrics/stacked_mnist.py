"""The Stacked-MNIST mode metric: how many of the 1000 digit triples a generator makes, and how evenly.

Protocol (Metz et al. 2017, VEEGAN, PacGAN): classify each channel of N generated images (26,000 in the
papers) with a pretrained MNIST classifier; the mode of an image is ``100 R + 10 G + B``. Report the number
of modes hit (at least one sample) and ``KL(p || uniform)`` of the mode histogram ``p`` (0 for a perfect
generator, ``log 1000 = 6.91`` for a total collapse).

The classifier is the MNIST one of :mod:`ganjax.metrics.classifier`, which ganjax trains itself on the
offline MNIST test digits (8,000 train, 2,000 held out, at least 99% held-out accuracy) and caches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ganjax.data.stacked_mnist import NUM_MODES
from ganjax.errors import DataError
from ganjax.metrics import classifier as C


# ------------------------------------------------------------------------------------------------------
# Mode statistics.

def mode_histogram(modes: Any, num_modes: int = NUM_MODES) -> np.ndarray:
    """Counts of each mode id in ``[0, num_modes)``; an id outside is a DataError."""
    m = np.asarray(modes)
    if m.ndim != 1 or m.size == 0 or m.dtype.kind not in 'ui':
        raise DataError(f'mode ids must be a non-empty 1-D integer array, got {m.dtype} {m.shape}')
    if m.min() < 0 or m.max() >= num_modes:
        raise DataError(f'mode ids must lie in [0, {num_modes}), got [{m.min()}, {m.max()}]')
    return np.bincount(m, minlength=num_modes)


def mode_coverage(modes: Any, num_modes: int = NUM_MODES) -> tuple[int, float]:
    """``(modes hit, KL(p || uniform))`` of the mode ids, in nats: ``sum_k p_k log(p_k * num_modes)``."""
    counts = mode_histogram(modes, num_modes)
    p = counts[counts > 0] / counts.sum()
    return int(np.count_nonzero(counts)), float(np.sum(p * np.log(p * num_modes)))


def channel_kl(modes: Any) -> list[float]:
    """``KL(q_c || uniform over 10 digits)`` of each channel's digit histogram ``q_c`` (R, G, B), in nats.

    Why: by the chain rule, the mode KL of :func:`mode_coverage` is the sum of these three plus the
    mutual information between the channels (which, for a finite sample, holds the sampling floor: ~0.019
    for 26,000 uniform draws). The per-channel terms say whether a generator's excess KL is how often it
    draws each digit or digits that come together; on this benchmark it has been almost all the former."""
    mode_histogram(modes)  # validates the ids
    ids = np.asarray(modes)
    out = []
    for digit in (ids // 100, (ids // 10) % 10, ids % 10):
        q = np.bincount(digit, minlength=10) / ids.size
        q = q[q > 0]
        out.append(float(np.sum(q * np.log(q * 10))))
    return out


# ------------------------------------------------------------------------------------------------------
# The digit classifier (ganjax/metrics/classifier.py).

def get_classifier(mnist_path: str | Path | None, cache_path: str | Path | None = None,
                   log: Callable[[str], None] = lambda s: None) -> tuple[Any, float]:
    """The cached MNIST classifier, or one trained on the idx **test** digits at ``mnist_path`` (8,000 to
    train, 2,000 held out) and cached: ``(params, held-out accuracy)``."""
    return C.get_classifier('mnist', mnist_path, cache_path, log)


# ------------------------------------------------------------------------------------------------------
# Samples -> modes.

def stack_modes(params: Any, images: Any) -> np.ndarray:
    """Mode ids of RGB stacks ``(N, 28 or 32, same, 3)`` in [-1, 1] or uint8 (32x32 is center-cropped)."""
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[1:3] not in ((28, 28), (32, 32)):
        raise DataError(f'stacked MNIST samples must be (N, 28, 28, 3) or (N, 32, 32, 3), got {x.shape}')
    digits = [C.predict(params, x[..., c], fit='crop') for c in range(3)]
    return 100 * digits[0] + 10 * digits[1] + digits[2]
