"""Data sources, resolved from ``config.data``.

A source has ``name``, ``example_shape``, ``num_classes`` (0 when unlabelled or labels are off),
``is_image``, and ``iterate(examples_per_step, start_step, process_index, process_count)`` which yields
dicts ``{'x': float32 array, 'label': int32 array (conditional only)}`` holding this process's slice of
each step's global examples, deterministically from ``(seed, step)`` so a resumed run sees the same data.
Images come as NHWC float32 in [-1, 1].

Which source: ``data.name`` 'ring' / 'grid' are the 2-D toys; 'stacked_mnist' builds 1000-mode RGB stacks
of MNIST digits (``stacked_mnist.py``; ``data.path`` then names the MNIST idx files); otherwise a non-empty
``data.path`` reads local files (``files.py``: .npz, idx(.gz), image folder) whatever ``data.name`` says,
so one flag points any experiment at local data; otherwise ``data.name`` is a TFDS dataset name
(``tfds.py``). ``data.pairing`` ('paired' | 'unpaired') reads two image domains for translation instead
(``paired.py``): batches ``{'a': input, 'x': target}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ganjax.data.pipeline import ArrayStore, ImageSource
from ganjax.data.stacked_mnist import NAME as STACKED_MNIST, get_stacked_mnist
from ganjax.data.toy import ToySource
from ganjax.errors import ConfigError, DataError

TOY_NAMES = ('ring', 'grid')


def get_source(cfg, seed: int):
    """Build the data source that ``config.data`` describes."""
    if cfg.name in TOY_NAMES and not cfg.path:
        return ToySource(cfg, seed)
    if cfg.name == STACKED_MNIST:
        return get_stacked_mnist(cfg, seed)
    if cfg.get('pairing'):  # two image domains for translation games (paired.py)
        from ganjax.data.paired import get_translation_source

        return get_translation_source(cfg, seed)
    if cfg.channels not in (0, 1, 3):
        raise ConfigError(f'data.channels must be 0 (keep), 1 or 3, got {cfg.channels}')
    if cfg.image_size < 0 or cfg.max_examples < 0 or cfg.prefetch < 0 or cfg.num_classes < 0:
        raise ConfigError('data.image_size, data.max_examples, data.prefetch and data.num_classes '
                          'must be >= 0')
    if cfg.path:
        from ganjax.data.files import read_files

        images, labels, found = read_files(cfg.path, cfg.split, cfg.image_size, cfg.channels,
                                           cfg.max_examples)
        store, name, where = ArrayStore(images, labels), Path(cfg.path).name, f'data.path {cfg.path!r}'
    else:
        from ganjax.data.tfds import load_tfds

        store, found = load_tfds(cfg)
        name, where = cfg.name, f'TFDS dataset {cfg.name!r}'
    num_classes = 0
    if cfg.conditional:
        if not found:
            raise DataError(f'{where} has no class labels, but data.conditional is on')
        num_classes = cfg.num_classes or found
        if num_classes < found:
            raise DataError(f'{where} has {found} classes, more than data.num_classes={cfg.num_classes}')
    images, _ = store.take(np.arange(min(1, len(store))))
    return ImageSource(name, store, images.shape[1:], num_classes, seed, cfg.random_flip, cfg.prefetch)

