"""Image-to-image translation data: paired and unpaired sources of two image domains, A and B.

``data.pairing`` ('paired' | 'unpaired') makes :func:`ganjax.data.get_source` build a
:class:`TranslationSource`. Its batches are dicts ``{'a': input images, 'x': target images}`` (float32 NHWC
in [-1, 1]); ``example_shape`` is the target's, so FID, pictures and checkpoints treat ``x`` as "the data".
``data.direction='BtoA'`` swaps which domain is the input.

Where the two domains come from:

* ``data.name='edges_fashion'``: built by ganjax from real Fashion-MNIST items (``data.path`` = the idx files,
  else TFDS ``fashion_mnist``): domain A is the item's edge map (:func:`edge_map`, a fixed Sobel detector),
  domain B the item. Paired, each item with its own edges. Unpaired, the edges of the first half of the
  training items against the other half's items, so no edge map has its item on the other side. The test
  split (Fashion-MNIST's test set) is always paired, with the item labels, for evaluation. With
  ``data.image_size=32`` items are padded with 2 black pixels (exact; no resampling).
* ``data.path``, a folder: either ``<split>A/`` and ``<split>B/`` (the CycleGAN datasets' layout;
  paired by file name when ``data.pairing='paired'``), or ``<split>/`` (else the folder itself) of
  side-by-side ``A|B`` images (the pix2pix datasets' layout), cut in two halves of equal width.
* otherwise ``data.name`` is a TFDS dataset with splits ``<split>A``/``<split>B`` (``cycle_gan/*``); paired
  means paired by index.

Order and augmentation follow :mod:`ganjax.data.pipeline`: step ``s`` owns global stream positions
``[s E, (s+1) E)`` of epochs that are permutations seeded by ``(seed, epoch)``; each process fetches its
contiguous slice. An unpaired source walks its two domains in two independent orders. With
``data.load_size`` images are resized to that once at load time, then each example gets a random
``data.image_size`` crop; with ``data.random_flip`` a random horizontal flip; both drawn per global
position from ``(seed, step)``, and the *same* crop and flip for both images of a pair (independent ones for
the two domains of an unpaired source).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ganjax.data.pipeline import _Prefetcher, check_slice, preprocess
from ganjax.errors import ConfigError, DataError

EDGES_FASHION = 'edges_fashion'
PAIRINGS = ('paired', 'unpaired')
DIRECTIONS = ('AtoB', 'BtoA')
# The edge detector's threshold on the Sobel magnitude / 4 (a step of intensity h in [0, 1] gives h).
EDGE_THRESHOLD = 0.2

_ORDER_TAG = 0x70616972  # distinct from pipeline.py's tags: translation order and augmentation streams
_AUG_TAG = 0x61756720


# --------------------------------------------------------------------------------------------- edges

def edge_map(images: np.ndarray, threshold: float = EDGE_THRESHOLD) -> np.ndarray:
    """White-on-black edges of uint8 gray images ``(N, H, W, 1)``: the Sobel gradient magnitude, divided
    by 4 so that an intensity step of height ``h`` (in [0, 1]) reads ``h`` on both pixels beside it, above
    ``threshold``. Borders are replicated, so the image border itself is no edge. Deterministic (numpy)."""
    x = images[..., 0].astype(np.float32) / 255.0
    p = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode='edge')
    h, w = x.shape[1:]
    s = lambda dy, dx: p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
    gx = (s(-1, 1) + 2 * s(0, 1) + s(1, 1)) - (s(-1, -1) + 2 * s(0, -1) + s(1, -1))
    gy = (s(1, -1) + 2 * s(1, 0) + s(1, 1)) - (s(-1, -1) + 2 * s(-1, 0) + s(-1, 1))
    magnitude = np.sqrt(gx * gx + gy * gy) / 4.0
    return np.where(magnitude > threshold, 255, 0).astype(np.uint8)[..., None]


# -------------------------------------------------------------------------------------------- domains

class Domains:
    """The two domains of one split, as uint8 NHWC arrays (already at load size), and the test labels."""

    def __init__(self, a: np.ndarray, b: np.ndarray, paired: bool, where: str,
                 labels: np.ndarray | None = None):
        for name, d in (('A', a), ('B', b)):
            if len(d) == 0:
                raise DataError(f'{where}: domain {name} has no images')
        if paired and len(a) != len(b):
            raise DataError(f'{where}: {len(a)} A images but {len(b)} B images; a paired dataset needs '
                            'one B image per A image')
        if a.shape[-1] != b.shape[-1]:
            raise DataError(f'{where}: domain A has {a.shape[-1]} channel(s), domain B {b.shape[-1]}; set '
                            'data.channels to convert both')
        if a.shape[1:3] != b.shape[1:3]:
            raise DataError(f'{where}: domain A images are {a.shape[1]}x{a.shape[2]}, domain B images '
                            f'{b.shape[1]}x{b.shape[2]}; set data.image_size to resize both to one size')
        self.a, self.b, self.paired, self.labels = a, b, paired, labels


def _sub(cfg: Any, **changes: Any) -> Any:
    """A copy of ``config.data`` with some keys changed (to reuse the single-domain readers)."""
    c = copy.deepcopy(cfg)
    with c.unlocked():
        for k, v in changes.items():
            c[k] = v
    return c


def _size(cfg: Any) -> int:
    """The size images are stored at: the load size with crop jitter, else the final size."""
    return int(cfg.load_size or cfg.image_size)


def _fashion(cfg: Any, split: str) -> tuple[np.ndarray, np.ndarray]:
    if cfg.path:
        from ganjax.data.files import read_files

        images, labels, _ = read_files(cfg.path, split, 0, 1, cfg.max_examples)
    else:
        from ganjax.data.tfds import load_tfds

        store, _ = load_tfds(_sub(cfg, name='fashion_mnist', split=split, image_size=0, channels=1))
        images, labels = store.take(np.arange(len(store)))
    if labels is None:
        raise DataError(f'{EDGES_FASHION}: the Fashion-MNIST {split} images have no labels')
    size = _size(cfg)
    if size not in (0, 28, 32):
        raise ConfigError(f'{EDGES_FASHION}: data.image_size/load_size must be 28 or 32 (padded), got {size}')
    if size == 32:
        images = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    return images, np.asarray(labels, np.int32)


def edges_fashion(cfg: Any, split: str, paired: bool) -> Domains:
    """The edges<->Fashion-MNIST task (see the module docstring)."""
    items, labels = _fashion(cfg, split)
    where = f'{EDGES_FASHION} ({split})'
    if paired or split != 'train':
        return Domains(edge_map(items), items, True, where, labels)
    half = len(items) // 2
    return Domains(edge_map(items[:half]), items[half:], False, where)


def _folder_images(d: Path, cfg: Any, where: str) -> tuple[np.ndarray, list[str]]:
    from ganjax.data.files import IMAGE_SUFFIXES, _decode

    files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if cfg.max_examples:
        files = files[:cfg.max_examples]
    if not files:
        raise DataError(f'{where}: no PNG/JPEG images in {d}')
    images = [_decode(f, where) for f in files]
    size = _size(cfg)
    if not size:
        first = images[0].shape[:2]
        for f, im in zip(files, images):
            if im.shape[:2] != first:
                raise DataError(f'{where}: images of different sizes ({files[0].name} is {first[0]}x{first[1]}, '
                                f'{f.name} is {im.shape[0]}x{im.shape[1]}); set data.image_size')
    return preprocess(images, size, cfg.channels, where), [f.stem for f in files]


def folders(cfg: Any, split: str, paired: bool) -> Domains:
    """Two folders ``<split>A``/``<split>B``, or side-by-side ``A|B`` images (see the module docstring)."""
    root = Path(cfg.path).expanduser()
    where = f'data.path {cfg.path!r}'
    if not root.is_dir():
        raise DataError(f'{where} is not a directory')
    dir_a, dir_b = root / f'{split}A', root / f'{split}B'
    if dir_a.is_dir() or dir_b.is_dir():
        for d in (dir_a, dir_b):
            if not d.is_dir():
                raise DataError(f'{where}: has {dir_a.name if d is dir_b else dir_b.name}/ but no {d.name}/')
        a, names_a = _folder_images(dir_a, cfg, where)
        b, names_b = _folder_images(dir_b, cfg, where)
        if paired:
            missing = sorted(set(names_a) ^ set(names_b))
            if missing:
                raise DataError(f'{where}: paired folders must hold the same file names; {len(missing)} have '
                                f'no partner (e.g. {missing[0]!r})')
            where_b = {n: i for i, n in enumerate(names_b)}
            b = b[[where_b[n] for n in names_a]]
        return Domains(a, b, paired, where)
    d = root / split if (root / split).is_dir() else root
    return side_by_side(d, cfg, where, paired)


def side_by_side(d: Path, cfg: Any, where: str, paired: bool = True) -> Domains:
    """Images holding A in their left half and B in their right half (the pix2pix datasets)."""
    from ganjax.data.files import IMAGE_SUFFIXES, _decode

    files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if cfg.max_examples:
        files = files[:cfg.max_examples]
    if not files:
        raise DataError(f'{where}: no {{split}}A/{{split}}B folders and no side-by-side PNG/JPEG images in {d}')
    a, b = [], []
    for f in files:
        im = _decode(f, where)
        if im.shape[1] % 2:
            raise DataError(f'{where}: side-by-side image {f.name} has odd width {im.shape[1]}; A|B images '
                            'must split into two halves of equal width')
        half = im.shape[1] // 2
        a.append(im[:, :half])
        b.append(im[:, half:])
    size = _size(cfg)
    return Domains(preprocess(a, size, cfg.channels, where), preprocess(b, size, cfg.channels, where), paired,
                   where)


def tfds_domains(cfg: Any, split: str, paired: bool) -> Domains:
    """TFDS splits ``<split>A``/``<split>B`` of ``data.name`` (``cycle_gan/horse2zebra``, ...)."""
    from ganjax.data.tfds import load_tfds

    arrays = []
    for side in 'AB':
        store, _ = load_tfds(_sub(cfg, split=f'{split}{side}', image_size=_size(cfg)))
        arrays.append(store.take(np.arange(len(store)))[0])
    a, b = arrays
    where = f'TFDS dataset {cfg.name!r}'
    if paired:
        n = min(len(a), len(b))
        a, b = a[:n], b[:n]
    return Domains(a, b, paired, where)


def load_domains(cfg: Any, split: str) -> Domains:
    """The two domains of ``split`` as ``config.data`` describes them, input first (``data.direction``)."""
    if cfg.pairing not in PAIRINGS:
        raise ConfigError(f"unknown data.pairing {cfg.pairing!r}; valid: '' (no translation), paired, unpaired")
    if cfg.direction not in DIRECTIONS:
        raise ConfigError(f"unknown data.direction {cfg.direction!r}; valid: {', '.join(DIRECTIONS)}")
    if cfg.load_size and cfg.load_size < cfg.image_size:
        raise ConfigError(f'data.load_size ({cfg.load_size}) must be >= data.image_size ({cfg.image_size})')
    if cfg.load_size and not cfg.image_size:
        raise ConfigError('data.load_size needs data.image_size (the size of the random crop)')
    paired = cfg.pairing == 'paired'
    if cfg.name == EDGES_FASHION:
        d = edges_fashion(cfg, split, paired)
    elif cfg.path:
        d = folders(cfg, split, paired)
    else:
        d = tfds_domains(cfg, split, paired)
    if cfg.direction == 'BtoA':
        d.a, d.b = d.b, d.a
    return d


def evaluation_split(cfg: Any) -> str:
    """The split evaluation uses: 'test' where the data has one (Fashion-MNIST's test set, TFDS ``testA``/
    ``testB``, folders ``testA/``+``testB/`` or ``test/``), else ``data.split`` itself."""
    if cfg.name == EDGES_FASHION or not cfg.path:
        return 'test'
    root = Path(cfg.path).expanduser()
    return 'test' if (root / 'testA').is_dir() or (root / 'test').is_dir() else cfg.split


# -------------------------------------------------------------------------------------------- source

def _order(seed: int, domain: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([_ORDER_TAG, seed, domain, epoch]).permutation(n)


def positions_to_indices(seed: int, domain: int, n: int, positions: np.ndarray) -> np.ndarray:
    """Dataset indices of global stream positions: epoch ``e`` is a permutation seeded by (seed, domain, e)."""
    epochs, offsets = np.divmod(positions, n)
    out = np.empty(len(positions), dtype=np.int64)
    for epoch in np.unique(epochs):
        sel = epochs == epoch
        out[sel] = _order(seed, domain, int(epoch), n)[offsets[sel]]
    return out


def augment(images: np.ndarray, crop: int, offsets: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """Crop ``crop x crop`` at per-image ``offsets`` (top, left) and mirror where ``flips``."""
    out = np.empty((len(images), crop, crop, images.shape[-1]), images.dtype)
    for i, (im, (t, l), f) in enumerate(zip(images, offsets, flips)):
        patch = im[t:t + crop, l:l + crop]
        out[i] = patch[:, ::-1] if f else patch
    return out


class TranslationSource:
    """Batches ``{'a': input, 'x': target}`` of two image domains (see the module docstring)."""

    is_image = True
    num_classes = 0

    def __init__(self, name: str, domains: Domains, seed: int, image_size: int = 0, random_flip: bool = False,
                 prefetch: int = 2):
        self.name = name
        self.domains = domains
        self.seed = int(seed)
        self.crop = int(image_size) if image_size and image_size < domains.b.shape[1] else 0
        self.random_flip = bool(random_flip)
        self.prefetch = int(prefetch)
        side = self.crop or domains.b.shape[1]
        self.example_shape = (side, side, int(domains.b.shape[-1]))
        self.input_shape = (side, side, int(domains.a.shape[-1]))

    def __len__(self) -> int:
        return len(self.domains.b)

    def _augmentation(self, step: int, examples_per_step: int, domain: int) -> tuple[np.ndarray, np.ndarray]:
        """Crop offsets and flips of a step's global positions; a pair's two images share them."""
        rng = np.random.default_rng([_AUG_TAG, self.seed, step, 0 if self.domains.paired else domain])
        room = self.domains.b.shape[1] - self.crop if self.crop else 0
        offsets = rng.integers(0, room + 1, size=(examples_per_step, 2))
        flips = rng.random(examples_per_step) < 0.5 if self.random_flip else np.zeros(examples_per_step, bool)
        return offsets, flips

    def batch(self, step: int, examples_per_step: int, process_index: int = 0,
              process_count: int = 1) -> dict[str, np.ndarray]:
        local = examples_per_step // process_count
        start = process_index * local
        positions = step * examples_per_step + start + np.arange(local, dtype=np.int64)
        out = {}
        for domain, (key, images) in enumerate((('a', self.domains.a), ('x', self.domains.b))):
            order_domain = 0 if self.domains.paired else domain
            idx = positions_to_indices(self.seed, order_domain, len(images), positions)
            taken = images[idx]
            if self.crop or self.random_flip:
                offsets, flips = self._augmentation(step, examples_per_step, domain)
                crop = self.crop or taken.shape[1]
                taken = augment(taken, crop, offsets[start:start + local], flips[start:start + local])
            out[key] = taken.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
        return out

    def iterate(self, examples_per_step: int, start_step: int = 0, process_index: int = 0,
                process_count: int = 1) -> Iterator[dict[str, np.ndarray]]:
        """This process's slice of every step from ``start_step`` on (as ImageSource.iterate)."""
        check_slice(examples_per_step, process_index, process_count)
        smallest = min(len(self.domains.a), len(self.domains.b))
        if smallest < examples_per_step:
            raise DataError(f'{self.name}: a domain holds {smallest} images, fewer than one step uses '
                            f'({examples_per_step})')

        def gen() -> Iterator[dict[str, np.ndarray]]:
            step = start_step
            while True:
                yield self.batch(step, examples_per_step, process_index, process_count)
                step += 1

        return _Prefetcher(gen(), self.prefetch) if self.prefetch > 0 else gen()


def get_translation_source(cfg: Any, seed: int) -> TranslationSource:
    """The training source ``config.data`` names (``data.split``)."""
    if cfg.channels not in (0, 1, 3):
        raise ConfigError(f'data.channels must be 0 (keep), 1 or 3, got {cfg.channels}')
    domains = load_domains(cfg, cfg.split)
    name = f'{cfg.name if not cfg.path else Path(cfg.path).name} ({cfg.pairing})'
    return TranslationSource(name, domains, seed, cfg.image_size, cfg.random_flip, cfg.prefetch)


def evaluation_domains(cfg: Any, max_examples: int = 0) -> Domains:
    """The test split's two domains at the training images' size (centre crop of the load size; no flips),
    paired for every source ganjax builds; what translation samples and benchmarks use."""
    c = _sub(cfg, max_examples=max_examples or cfg.max_examples)
    d = load_domains(c, evaluation_split(cfg))
    if cfg.load_size and cfg.image_size and cfg.image_size < cfg.load_size:
        t = (cfg.load_size - cfg.image_size) // 2
        crop = lambda x: np.ascontiguousarray(x[:, t:t + cfg.image_size, t:t + cfg.image_size])
        d.a, d.b = crop(d.a), crop(d.b)
    return d
