"""Shared helpers of the data tests: where the real data lives, and an idx parser independent of ganjax."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED_DATA

MNIST_DIR = SHARED_DATA / 'mnist'
CIFAR_NPZ = SHARED_DATA / 'cifar10-test-jpeg' / 'cifar10_test.npz'
FASHION_DIR = Path('/usr/share/datasets/fashion-mnist')


def require(path: Path, how: str) -> Path:
    """Skip (outside CI) or fail (CI=true) when real data at ``path`` is missing."""
    if not path.exists():
        message = f'{path} is missing ({how})'
        if os.environ.get('CI') == 'true':
            pytest.fail(message)
        pytest.skip(message)
    return path


def parse_idx_gz(path: Path) -> np.ndarray:
    """The MNIST idx layout written out by hand: 4-byte magic, big-endian dims, then uint8 data."""
    raw = gzip.open(path, 'rb').read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def mnist_dir() -> Path:
    """The shared MNIST idx folder (skips the test, or fails it under CI, where it is missing)."""
    return require(MNIST_DIR, 'the shared MNIST test set, see ../shared/data/README.md')


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    mnist_dir()
    return (parse_idx_gz(MNIST_DIR / 't10k-images-idx3-ubyte.gz'),
            parse_idx_gz(MNIST_DIR / 't10k-labels-idx1-ubyte.gz'))


def cifar_arrays() -> tuple[np.ndarray, np.ndarray]:
    require(CIFAR_NPZ, 'the shared CIFAR-10 test set, see ../shared/data/README.md')
    with np.load(CIFAR_NPZ) as z:
        return z['image'], z['label']


def data_config(**overrides):
    """``config.data`` of the base config with ``overrides`` applied."""
    from experiments.base import get_config

    c = get_config().data
    for key, value in overrides.items():
        setattr(c, key, value)
    return c
