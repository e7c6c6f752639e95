"""Data sources, resolved from ``config.data``.

A source has ``name``, ``example_shape``, ``num_classes`` (0 when unlabelled or labels are off),
``is_image``, and ``iterate(examples_per_step, start_step, process_index, process_count)`` which yields
dicts ``{'x': float32 array, 'label': int32 array (labelled data only)}`` holding this process's slice of
each step's global examples, deterministically from ``(seed, step)`` so a resumed run sees the same data.
Images come as NHWC float32 in [-1, 1].
"""

from __future__ import annotations

from ganjax.data.toy import ToySource
from ganjax.errors import ConfigError

TOY_NAMES = ('ring', 'grid')


def get_source(cfg, seed: int):
    """Build the data source that ``config.data`` describes."""
    if cfg.name in TOY_NAMES:
        return ToySource(cfg, seed)
    raise ConfigError(
        f'data {cfg.name!r}: real image datasets are not available in this build; '
        f"use data.name in {TOY_NAMES}")
