"""The 2-D Gaussian mixtures of the PacGAN/VEEGAN mode-collapse benchmarks.

* ring: ``num_modes`` Gaussians evenly spaced on a circle of ``radius`` (default 8, radius 1, std 0.01);
* grid: a ``k x k`` grid of Gaussians, ``k = sqrt(num_modes)``, means ``spacing * ({0..k-1} - (k-1)/2)``
  in each coordinate (default 25 modes, spacing 2: means in {-4, -2, 0, 2, 4}^2, std 0.05).

Samples are a pure function of ``(seed, step, process)``, so any step's batch can be regenerated exactly
(which is what makes resuming trivial for these sets).
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np

from ganjax.errors import ConfigError


def ring_modes(num_modes: int = 8, radius: float = 1.0) -> np.ndarray:
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def grid_modes(num_modes: int = 25, spacing: float = 2.0) -> np.ndarray:
    k = math.isqrt(num_modes)
    if k * k != num_modes:
        raise ConfigError(f'data.num_modes for the grid must be a perfect square, got {num_modes}')
    axis = spacing * (np.arange(k) - (k - 1) / 2)
    xx, yy = np.meshgrid(axis, axis, indexing='ij')
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def sample_mixture(rng: np.random.Generator, modes: np.ndarray, std: float, n: int) -> np.ndarray:
    """``n`` samples of an equal-weight mixture of isotropic Gaussians at ``modes``."""
    idx = rng.integers(0, len(modes), size=n)
    return (modes[idx] + std * rng.standard_normal((n, modes.shape[1]))).astype(np.float32)


class ToySource:
    """A 2-D mixture as a data source (see :mod:`ganjax.data`)."""

    def __init__(self, cfg, seed: int):
        if cfg.num_modes < 1 or cfg.std <= 0:
            raise ConfigError('data.num_modes must be >= 1 and data.std > 0')
        if cfg.name == 'ring':
            self.modes = ring_modes(cfg.num_modes, cfg.radius)
        else:
            self.modes = grid_modes(cfg.num_modes, cfg.spacing)
        self.std = float(cfg.std)
        self.seed = int(seed)
        self.name = cfg.name
        self.example_shape = (2,)
        self.num_classes = 0
        self.is_image = False

    def iterate(self, examples_per_step: int, start_step: int = 0,
                process_index: int = 0, process_count: int = 1) -> Iterator[dict[str, np.ndarray]]:
        """Yield this process's share of each step's examples, from ``start_step`` on.

        Each process draws the whole global batch (cheap for 2-D points) and keeps its contiguous slice,
        so a run on several hosts sees exactly the data of a one-host run.
        """
        local = examples_per_step // process_count
        step = start_step
        while True:
            rng = np.random.default_rng([self.seed, step])
            x = sample_mixture(rng, self.modes, self.std, examples_per_step)
            yield {'x': x[process_index * local:(process_index + 1) * local]}
            step += 1
