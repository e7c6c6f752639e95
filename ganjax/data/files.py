"""Local image files: a ``.npz`` array, MNIST-style idx(.gz) files, or a folder of PNG/JPEG images.

``data.path`` names the data; its format follows from what the path is:

* a ``.npz`` file: the image array under ``image``/``images``/``x``/``x_train``/``arr_0`` (or the only 3-D or
  4-D array), labels (optional) under ``label``/``labels``/``y``/``y_train``;
* an idx file (``*-images-idx3-ubyte[.gz]``) or a directory holding them: labels come from the matching
  ``*-labels-idx1-ubyte[.gz]``; with several image files the one matching ``data.split`` is taken
  (``train`` -> ``train-*``, ``test`` -> ``t10k-*``/``test-*``);
* any other directory: an image folder, unlabelled, or with one sub-folder per class (labels are the
  sub-folder indices in sorted order).

Everything is decoded once into memory (the data must fit); the pipeline then only indexes arrays.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import numpy as np

from ganjax.data.pipeline import preprocess
from ganjax.errors import DataError

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg')
NPZ_IMAGE_KEYS = ('image', 'images', 'x', 'x_train', 'arr_0')
NPZ_LABEL_KEYS = ('label', 'labels', 'y', 'y_train')
_IDX_IMAGES = re.compile(r'images?[-_.]idx3[-_.]ubyte(\.gz)?$')
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype('>i2'), 0x0C: np.dtype('>i4'),
               0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}


def read_files(path: str, split: str, image_size: int, channels: int,
               max_examples: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Read ``path`` into ``(uint8 NHWC images, int labels or None, number of classes or 0)``."""
    p = Path(path).expanduser()
    where = f'data.path {path!r}'
    if not p.exists():
        raise DataError(f'{where} does not exist')
    if p.is_file() and p.suffix == '.npz':
        images, labels, num_classes = _read_npz(p, where, max_examples)
    elif p.is_file() and _IDX_IMAGES.search(p.name):
        images, labels, num_classes = _read_idx_pair(p, where, max_examples)
    elif p.is_dir() and any(_IDX_IMAGES.search(f.name) for f in p.iterdir()):
        images, labels, num_classes = _read_idx_pair(_pick_idx(p, split, where), where, max_examples)
    elif p.is_dir():
        return _read_folder(p, where, image_size, channels, max_examples)
    else:
        raise DataError(f'{where}: not a .npz file, an idx(.gz) file or a directory')
    return preprocess(images, image_size, channels, where), labels, num_classes


# --- npz --------------------------------------------------------------------------------------------------

def _read_npz(p: Path, where: str, max_examples: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # zipfile/pickle/format errors of many types
        raise DataError(f'{where}: cannot read as .npz ({type(e).__name__}: {_first_line(e)})') from None
    key = next((k for k in NPZ_IMAGE_KEYS if k in arrays and arrays[k].ndim in (3, 4)), None)
    if key is None:
        candidates = [k for k, a in arrays.items() if a.ndim in (3, 4) and a.dtype.kind in 'uif']
        if len(candidates) != 1:
            raise DataError(f'{where}: no image array of shape (N, H, W) or (N, H, W, C) '
                            f'(keys: {", ".join(f"{k}{arrays[k].shape}" for k in arrays) or "none"})')
        key = candidates[0]
    images = arrays[key]
    if max_examples:
        images = images[:max_examples]
    images = _as_uint8(images, f'{where} [{key}]')
    if images.ndim == 3:
        images = images[..., None]
    label_key = next((k for k in NPZ_LABEL_KEYS if k in arrays), None)
    labels = None
    if label_key is not None:
        labels = arrays[label_key][:len(images)]
        if labels.shape != (len(images),) or labels.dtype.kind not in 'ui':
            raise DataError(f'{where}: labels [{label_key}] must be integers of shape ({len(images)},), '
                            f'got {labels.dtype} {labels.shape}')
    return (images, *_labels(labels, where))


def _as_uint8(images: np.ndarray, where: str) -> np.ndarray:
    """uint8 pixels from uint8, from integers in [0, 255] or from floats in [0, 1]."""
    if images.dtype == np.uint8:
        return images
    if images.size == 0:
        raise DataError(f'{where}: no images')
    lo, hi = images.min(), images.max()
    if images.dtype.kind in 'ui' and lo >= 0 and hi <= 255:
        return images.astype(np.uint8)
    if images.dtype.kind == 'f' and lo >= 0 and hi <= 1:
        return np.rint(images * 255).astype(np.uint8)
    raise DataError(f'{where}: pixel values must be uint8, integers in [0, 255] or floats in [0, 1]; '
                    f'got {images.dtype} in [{lo}, {hi}]')


def _labels(labels: np.ndarray | None, where: str) -> tuple[np.ndarray | None, int]:
    if labels is None:
        return None, 0
    labels = labels.astype(np.int64)
    if len(labels) and labels.min() < 0:
        raise DataError(f'{where}: negative class label {labels.min()}')
    return labels.astype(np.int32), int(labels.max()) + 1 if len(labels) else 0


# --- idx --------------------------------------------------------------------------------------------------

def read_idx(p: Path, where: str) -> np.ndarray:
    """Parse one idx file (LeCun's MNIST format, optionally gzipped)."""
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == '.gz' else p.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f'{where}: cannot read {p.name} ({_first_line(e)})') from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f'{where}: {p.name} is not an idx file (bad magic number)')
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f'{where}: {p.name} is truncated (header)')
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype='>u4', count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f'{where}: {p.name} holds {len(raw) - header} bytes of data, '
                        f'its header says {expected}')
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def _pick_idx(d: Path, split: str, where: str) -> Path:
    files = sorted(f for f in d.iterdir() if _IDX_IMAGES.search(f.name))
    if len(files) == 1:
        return files[0]
    prefixes = {'train': ('train',), 'test': ('t10k', 'test')}.get(split.split('[')[0], (split,))
    matching = [f for f in files if f.name.startswith(prefixes)]
    if len(matching) != 1:
        raise DataError(f'{where}: cannot tell which idx image file is split {split!r} among '
                        f'{", ".join(f.name for f in files)}; point data.path at one of them')
    return matching[0]


def _read_idx_pair(images_path: Path, where: str, max_examples: int) -> tuple[np.ndarray, ...]:
    images = read_idx(images_path, where)
    if images.ndim not in (3, 4):
        raise DataError(f'{where}: {images_path.name} holds shape {images.shape}, not images')
    if max_examples:
        images = images[:max_examples]
    images = _as_uint8(images, where)
    if images.ndim == 3:
        images = images[..., None]
    label_name = _IDX_IMAGES.sub(lambda m: 'labels-idx1-ubyte' + (m.group(1) or ''), images_path.name)
    label_path = images_path.with_name(label_name)
    labels = None
    if label_path.exists():
        labels = read_idx(label_path, where)
        if labels.ndim != 1 or len(labels) < len(images):
            raise DataError(f'{where}: {label_path.name} has {labels.shape} labels for {len(images)} images')
        labels = labels[:len(images)]
    return (images, *_labels(labels, where))


# --- image folder ----------------------------------------------------------------------------------------

def _list_images(d: Path) -> list[Path]:
    return sorted(f for f in d.rglob('*') if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)


def _read_folder(d: Path, where: str, image_size: int, channels: int,
                 max_examples: int) -> tuple[np.ndarray, np.ndarray | None, int]:
    top = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    classes = sorted(c for c in d.iterdir() if c.is_dir() and _list_images(c))
    if top and classes:
        raise DataError(f'{where}: has images both at its top level and in class sub-folders '
                        f'({", ".join(c.name for c in classes[:3])}); use one layout')
    if classes:
        files = [(f, i) for i, c in enumerate(classes) for f in _list_images(c)]
    else:
        files = [(f, -1) for f in top]
    if not files:
        raise DataError(f'{where}: no PNG/JPEG images in this directory or its class sub-folders')
    if max_examples:
        files = files[:max_examples]
    images = [_decode(f, where) for f, _ in files]
    for i, (f, _) in enumerate(files[1:], 1):
        if not image_size and images[i].shape[:2] != images[0].shape[:2]:
            raise DataError(f'{where}: images of different sizes ({files[0][0].name} is '
                            f'{images[0].shape[0]}x{images[0].shape[1]}, {f.name} is '
                            f'{images[i].shape[0]}x{images[i].shape[1]}); set data.image_size to '
                            'resize/center-crop them to one size')
    batch = preprocess(images, image_size, channels, where)
    if not classes:
        return batch, None, 0
    return batch, np.array([c for _, c in files], dtype=np.int32), len(classes)


def _decode(f: Path, where: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(f) as im:
            im.load()
            if im.mode not in ('L', 'RGB'):
                im = im.convert('L' if im.mode in ('1', 'LA', 'I', 'I;16', 'F') else 'RGB')
            return np.asarray(im)
    except Exception as e:  # PIL raises UnidentifiedImageError, OSError, SyntaxError, ValueError, ...
        raise DataError(f'{where}: cannot decode image {f.name} ({_first_line(e)})') from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
