"""TFDS image datasets by name (``cifar10``, ``mnist``, ``celeb_a``, ``lsun/bedroom``, ...).

Reading goes through TFDS's own builder (``tfds.builder(name, data_dir=...)``) and its random-access
``as_data_source`` (array_record files, decoded with PIL), which needs no TensorFlow. Datasets that were
prepared in TFDS's default tfrecord format are read with ``as_dataset`` instead, which needs TensorFlow.

Preparing a dataset that is not on disk downloads it and (for image datasets) encodes its images with
TensorFlow, so it needs both the network and ``tensorflow``. Offline, TFDS retries each URL for minutes
before failing; we probe the dataset's download hosts first with a short bound and fail at once with a
message saying how to point ``data.data_dir`` at a prepared copy or ``data.path`` at local files.

Data that fits in :data:`MEMORY_BUDGET` bytes is decoded once into memory; larger sets (CelebA, LSUN) stay
on disk and each process decodes only the examples of its own slice, in the prefetch thread.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import socket
import threading
import urllib.parse
from typing import Any, Iterator

import numpy as np

from ganjax.data.pipeline import ArrayStore, preprocess
from ganjax.errors import DataError

MEMORY_BUDGET = 2 * 1024**3  # bytes of uint8 pixels decoded into memory at most
PROBE_TIMEOUT_S = 5.0
_CHUNK = 1000


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _fix(where: str) -> str:
    return (f'set data.data_dir to a directory holding a prepared copy of {where}, '
            'or data.path to local files (.npz, idx(.gz) files or an image folder)')


def host_reachable(host: str, port: int = 443, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``host`` opens within ``timeout`` s (DNS included, hence the thread)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout)
    return bool(result and result[0])


def _download_hosts(builder: Any) -> list[str]:
    try:
        urls = list((builder.url_infos or {}).keys())
    except Exception:  # no checksums file for this builder
        urls = []
    hosts = [urllib.parse.urlparse(u).hostname for u in urls]
    return list(dict.fromkeys([h for h in hosts if h] + ['storage.googleapis.com']))


def _prepare(tfds: Any, builder: Any, name: str, download: bool) -> None:
    where = f'TFDS dataset {name!r}'
    missing = f'{where} is not prepared in {builder.data_dir}'
    if not download:
        raise DataError(f'{missing} and data.download is off; {_fix(name)}')
    host = _download_hosts(builder)[0]
    if not host_reachable(host):
        raise DataError(f'{missing} and cannot be downloaded ({host} is unreachable: no network?); '
                        f'{_fix(name)}')
    if importlib.util.find_spec('tensorflow') is None:
        raise DataError(f'{missing}; preparing it needs tensorflow (pip install tensorflow-cpu) and the '
                        f'network, or {_fix(name)}')
    try:
        builder.download_and_prepare(file_format='array_record')
    except Exception as e:  # network, checksum, manual-download and disk errors of many types
        raise DataError(f'{missing} and preparing it failed ({type(e).__name__}: {_first_line(e)}); '
                        f'{_fix(name)}') from None


class LazyTFDSStore:
    """Examples decoded from a TFDS data source on demand (for data larger than the memory budget)."""

    def __init__(self, source: Any, image_key: str, label_key: str | None, image_size: int, channels: int,
                 where: str):
        self.source, self.image_key, self.label_key = source, image_key, label_key
        self.image_size, self.channels, self.where = image_size, channels, where

    def __len__(self) -> int:
        return len(self.source)

    def take(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        records = self.source.__getitems__([int(i) for i in indices])
        images = preprocess([r[self.image_key] for r in records], self.image_size, self.channels, self.where)
        if self.label_key is None:
            return images, None
        return images, np.array([r[self.label_key] for r in records], dtype=np.int32)


@contextlib.contextmanager
def _quiet_absl() -> Iterator[None]:
    """Hide TFDS's absl warnings (empty variant folders, missing OpenCV) so a user sees one error line."""
    from absl import logging as absl_logging

    before = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.ERROR)
    try:
        yield
    finally:
        absl_logging.set_verbosity(before)


def load_tfds(cfg: Any) -> tuple[Any, int]:
    """Open ``cfg.name``/``cfg.split`` from TFDS as a store; returns ``(store, num_classes in the data)``."""
    with _quiet_absl():
        return _load_tfds(cfg)


def _load_tfds(cfg: Any) -> tuple[Any, int]:
    name = cfg.name
    where = f'TFDS dataset {name!r}'
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise DataError(f'{where}: tensorflow-datasets cannot be imported ({_first_line(e)})') from None
    try:
        builder = tfds.builder(name, data_dir=cfg.data_dir or None)
    except tfds.core.registered.DatasetNotFoundError:
        raise DataError(f'TFDS does not know a dataset named {name!r} (see the TFDS catalog for names); '
                        'for local files set data.path') from None
    except Exception as e:  # bad config names, unreadable data_dir, ...
        raise DataError(f'{where}: {type(e).__name__}: {_first_line(e)}') from None
    if not builder.is_prepared():
        _prepare(tfds, builder, name, bool(cfg.get('download', True)))

    info = builder.info
    split = cfg.split
    base = re.split(r'[\[+]', split)[0]
    if base not in info.splits:
        raise DataError(f'{where} has no split {base!r} (splits: {", ".join(sorted(info.splits))})')
    if cfg.max_examples and '[' not in split:
        split = f'{split}[:{int(cfg.max_examples)}]'

    features = info.features
    image_key, label_key = _keys(tfds, info, features, where)
    num_classes = features[label_key].num_classes if label_key else 0

    random_access = info.available_file_formats() & tfds.core.file_adapters.FileFormat.with_random_access()
    if random_access:
        try:
            source = builder.as_data_source(split=split)
        except Exception as e:
            raise DataError(f'{where}: cannot open split {split!r} ({_first_line(e)})') from None
        return _store_from_source(source, features[image_key].shape, image_key, label_key, cfg, where), \
            num_classes
    return _store_from_tfrecord(tfds, builder, split, image_key, label_key, cfg, where), num_classes


def _keys(tfds: Any, info: Any, features: Any, where: str) -> tuple[str, str | None]:
    """The image feature and (if any) the class-label feature, preferring the supervised keys."""
    keys = list(features.keys())
    sup = info.supervised_keys if isinstance(info.supervised_keys, tuple) else None
    images = [k for k in keys if isinstance(features[k], tfds.features.Image)]
    if sup and sup[0] in images:
        image_key = sup[0]
    elif 'image' in images:
        image_key = 'image'
    elif images:
        image_key = images[0]
    else:
        raise DataError(f'{where} has no image feature (features: {", ".join(keys)})')
    labels = [k for k in keys if isinstance(features[k], tfds.features.ClassLabel)]
    if sup and len(sup) > 1 and sup[1] in labels:
        return image_key, sup[1]
    return image_key, 'label' if 'label' in labels else None


def _store_from_source(source: Any, shape: tuple, image_key: str, label_key: str | None, cfg: Any,
                       where: str) -> Any:
    n = len(source)
    if n == 0:
        raise DataError(f'{where}: split {cfg.split!r} is empty')
    size = cfg.image_size
    h, w, c = (size or shape[0]), (size or shape[1]), (cfg.channels or shape[2])
    if None in (h, w, c) or n * h * w * c > MEMORY_BUDGET:
        return LazyTFDSStore(source, image_key, label_key, size, cfg.channels, where)
    images, labels = [], []
    for start in range(0, n, _CHUNK):
        records = source.__getitems__(list(range(start, min(n, start + _CHUNK))))
        chunk = preprocess([r[image_key] for r in records], size, cfg.channels, where, start)
        if images and chunk.shape[1:] != images[0].shape[1:]:
            raise DataError(f'{where}: images of different sizes ({images[0].shape[1:3]} before example '
                            f'{start}, {chunk.shape[1:3]} from it on); set data.image_size')
        images.append(chunk)
        if label_key:
            labels.append(np.array([r[label_key] for r in records], dtype=np.int32))
    return ArrayStore(np.concatenate(images), np.concatenate(labels) if label_key else None)


def _store_from_tfrecord(tfds: Any, builder: Any, split: str, image_key: str, label_key: str | None,
                         cfg: Any, where: str) -> ArrayStore:
    """Datasets prepared in tfrecord format (TFDS's default): read once with TensorFlow into memory."""
    if importlib.util.find_spec('tensorflow') is None:
        raise DataError(f'{where} in {builder.data_dir} is stored as tfrecord, which needs tensorflow '
                        'to read '
                        '(pip install tensorflow-cpu); or re-prepare it with file_format="array_record"')
    try:
        data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
    except Exception as e:
        raise DataError(f'{where}: cannot read split {split!r} ({_first_line(e)})') from None
    images = preprocess(data[image_key], cfg.image_size, cfg.channels, where)
    labels = data[label_key].astype(np.int32) if label_key else None
    return ArrayStore(images, labels)
