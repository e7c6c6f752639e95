"""The image input pipeline shared by every image source (TFDS and local files).

Readers (``files.py``, ``tfds.py``) turn their data into a :class:`Store`: ``len(store)`` examples that
``store.take(indices)`` returns as uint8 NHWC images (already resized / channel-converted) plus int labels.
:class:`ImageSource` turns a store into the batches the training loop consumes.

Order. The data is read as one endless stream of epochs, each a permutation seeded by ``(seed, epoch)``.
Step ``s`` owns the global stream positions ``[s * E, (s + 1) * E)`` (``E = examples_per_step``) and
process ``p`` of ``P`` the ``p``-th contiguous ``E / P`` of them. So a batch is a pure function of
``(seed, step, process)``: a run resumed at any step, mid-epoch or not, sees exactly the batches an
uninterrupted run would have, and the processes of a pod together see exactly the single-process batch
while each only fetches (and, for lazy stores, decodes) its own slice. Steps may straddle an epoch
boundary; no example is dropped. Random flips are drawn per global position from ``(seed, step)``.

Speed. Batches are assembled in a background thread ``prefetch`` steps ahead, so for in-memory data the
step never waits on Python (see benchmarks/data_speed.py).
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Iterator, Protocol, Sequence

import numpy as np

from ganjax.errors import ConfigError, DataError

# Distinct stream tags so the order and the flips never share random numbers with each other.
_ORDER_TAG = 0x6F726465
_FLIP_TAG = 0x666C6970


class Store(Protocol):
    """Random access to a dataset's preprocessed examples; ``take`` returns fresh arrays the caller owns."""

    def __len__(self) -> int: ...

    def take(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]: ...


class ArrayStore:
    """Examples held in memory as one uint8 NHWC array (and optional int labels)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None):
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    def take(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        return self.images[indices], None if self.labels is None else self.labels[indices]


# ---------------------------------------------------------------------------------------------------------
# Per-image preprocessing: channels, center-crop and resize. Done once at load time for in-memory data.

def to_uint8_hwc(image: np.ndarray, where: str) -> np.ndarray:
    """An image as uint8 (H, W, C) with C in {1, 3}: grayscale gets a channel axis, alpha is dropped."""
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[-1] not in (1, 2, 3, 4):
        raise DataError(f'{where}: expected an image (H, W[, C]) with 1-4 channels, got shape {image.shape}')
    if image.shape[-1] == 2:  # grayscale + alpha
        image = image[:, :, :1]
    elif image.shape[-1] == 4:  # RGBA
        image = image[:, :, :3]
    if image.dtype != np.uint8:
        raise DataError(f'{where}: expected uint8 pixels, got {image.dtype}')
    return image


def convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    """Convert (..., C) uint8 images to ``channels`` (0 keeps them).

    RGB -> gray uses ITU-R 601-2 luma in PIL's fixed-point form,
    ``(19595 R + 38470 G + 7471 B + 2^15) >> 16``, so that converting an array here equals
    ``PIL.Image.convert('L')`` on the same pixels.
    """
    have = images.shape[-1]
    if channels in (0, have):
        return images
    if channels == 3 and have == 1:
        return np.repeat(images, 3, axis=-1)
    if channels == 1 and have == 3:
        rgb = images.astype(np.uint32)
        luma = (19595 * rgb[..., 0] + 38470 * rgb[..., 1] + 7471 * rgb[..., 2] + 0x8000) >> 16
        return luma.astype(np.uint8)[..., None]
    raise ConfigError(f'data.channels must be 0, 1 or 3, got {channels}')


def center_crop_resize(image: np.ndarray, size: int) -> np.ndarray:
    """Crop the largest centred square, then resize it to ``size x size`` (bicubic, antialiased by PIL)."""
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(square)
    channels = square.shape[-1]
    pil = Image.fromarray(square[:, :, 0] if channels == 1 else square)
    out = np.asarray(pil.resize((size, size), Image.BICUBIC))
    return out.reshape(size, size, channels)


def preprocess(images: Sequence[np.ndarray] | np.ndarray, image_size: int, channels: int,
               where: str, first_index: int = 0) -> np.ndarray:
    """Stack images into one uint8 NHWC array after crop/resize and channel conversion.

    ``images`` may have different sizes and channel counts; without ``image_size`` different sizes are an
    error (naming ``where`` and the two examples), and mixed gray/colour is promoted to 3 channels.
    """
    if isinstance(images, np.ndarray) and images.ndim == 4 and images.dtype == np.uint8:
        batch = images  # fast path: already one array
        if batch.shape[-1] in (2, 4):
            batch = batch[..., :1] if batch.shape[-1] == 2 else batch[..., :3]
        if image_size and batch.shape[1:3] != (image_size, image_size):
            batch = np.stack([center_crop_resize(im, image_size) for im in batch])
        return convert_channels(batch, channels)
    items = [to_uint8_hwc(np.asarray(im), where) for im in images]
    if not items:
        raise DataError(f'{where}: no images')
    if image_size:
        items = [center_crop_resize(im, image_size) for im in items]
    else:
        first = items[0].shape[:2]
        for i, im in enumerate(items):
            if im.shape[:2] != first:
                raise DataError(
                    f'{where}: images of different sizes ({first[0]}x{first[1]} at example {first_index}, '
                    f'{im.shape[0]}x{im.shape[1]} at example {first_index + i}); set data.image_size '
                    'to resize/center-crop them to one size')
    if channels == 0 and len({im.shape[-1] for im in items}) > 1:
        channels = 3
    return np.stack([convert_channels(im, channels) for im in items])


# ---------------------------------------------------------------------------------------------------------
# Order, batches and prefetching.

def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of epoch ``epoch``: a permutation of ``range(n)`` that depends only on (seed, epoch)."""
    return np.random.default_rng([_ORDER_TAG, seed, epoch]).permutation(n)


def flip_mask(seed: int, step: int, examples_per_step: int) -> np.ndarray:
    """Which of step ``step``'s global examples are flipped horizontally."""
    return np.random.default_rng([_FLIP_TAG, seed, step]).random(examples_per_step) < 0.5


class _Prefetcher:
    """Runs a batch generator in a daemon thread, ``depth`` items ahead; errors re-raise in the consumer."""

    _END = object()

    def __init__(self, it: Iterator[dict[str, np.ndarray]], depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(it,), daemon=True, name='ganjax-prefetch')
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, it: Iterator) -> None:
        try:
            for item in it:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(e)

    def __iter__(self) -> _Prefetcher:
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        item = self._queue.get()
        if item is self._END:
            raise StopIteration
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the producer thread (it exits within ~0.1 s)."""
        self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


def check_slice(examples_per_step: int, process_index: int, process_count: int) -> None:
    """ConfigError unless this process's index is valid and every process gets an equal slice of a step."""
    if process_count < 1 or not 0 <= process_index < process_count:
        raise ConfigError(f'process_index {process_index} out of range for {process_count} processes')
    if examples_per_step < 1 or examples_per_step % process_count:
        raise ConfigError(f'examples per step ({examples_per_step}) must be a positive multiple of the '
                          f'process count ({process_count})')


class ImageSource:
    """An image dataset as a ganjax data source (see :mod:`ganjax.data`)."""

    is_image = True

    def __init__(self, name: str, store: Store, example_shape: tuple[int, int, int], num_classes: int,
                 seed: int, random_flip: bool = False, prefetch: int = 2):
        self.name = name
        self.store = store
        self.example_shape = tuple(int(d) for d in example_shape)
        self.num_classes = int(num_classes)
        self.seed = int(seed)
        self.random_flip = bool(random_flip)
        self.prefetch = int(prefetch)
        self._perms: dict[int, np.ndarray] = {}
        self._mirrored: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.store)

    def _order(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            if len(self._perms) >= 2:  # a step spans at most two epochs
                self._perms.pop(min(self._perms))
            self._perms[epoch] = epoch_permutation(self.seed, epoch, len(self.store))
        return self._perms[epoch]

    def indices(self, step: int, examples_per_step: int, process_index: int = 0,
                process_count: int = 1) -> np.ndarray:
        """Dataset indices of this process's slice of step ``step``."""
        n, local = len(self.store), examples_per_step // process_count
        positions = step * examples_per_step + process_index * local + np.arange(local, dtype=np.int64)
        epochs, offsets = np.divmod(positions, n)
        out = np.empty(local, dtype=np.int64)
        for epoch in np.unique(epochs):
            sel = epochs == epoch
            out[sel] = self._order(int(epoch))[offsets[sel]]
        return out

    def batch(self, step: int, examples_per_step: int, process_index: int = 0,
              process_count: int = 1) -> dict[str, np.ndarray]:
        """This process's slice of step ``step``: ``x`` float32 NHWC in [-1, 1] (+ ``label`` int32)."""
        local = examples_per_step // process_count
        indices = self.indices(step, examples_per_step, process_index, process_count)
        flip = None
        if self.random_flip:
            start = process_index * local
            flip = flip_mask(self.seed, step, examples_per_step)[start:start + local]
        if flip is not None and isinstance(self.store, ArrayStore):
            # In memory, a mirrored copy made once turns every flip into part of the one gather (a
            # per-batch reversed-stride copy costs ~15x the gather on this CPU; benchmarks/data_speed.py).
            if self._mirrored is None:
                imgs = self.store.images
                self._mirrored = np.concatenate([imgs, imgs[:, :, ::-1]])
            images = self._mirrored[indices + flip * len(self.store)]
            labels = None if self.store.labels is None else self.store.labels[indices]
        else:
            images, labels = self.store.take(indices)
            if flip is not None:
                images[flip] = images[flip][:, :, ::-1]
        out = {'x': images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)}
        if self.num_classes:
            out['label'] = labels.astype(np.int32)
        return out

    def iterate(self, examples_per_step: int, start_step: int = 0, process_index: int = 0,
                process_count: int = 1) -> Iterator[dict[str, np.ndarray]]:
        """Yield this process's slice of every step from ``start_step`` on, prefetched in a thread."""
        check_slice(examples_per_step, process_index, process_count)
        if len(self.store) < examples_per_step:
            raise DataError(f'{self.name}: {len(self.store)} examples, fewer than one step uses '
                            f'({examples_per_step}: train.batch_size times the game\'s sub-batches per step, '
                            'train.d_steps in the adversarial game)')

        def gen() -> Iterator[dict[str, np.ndarray]]:
            step = start_step
            while True:
                yield self.batch(step, examples_per_step, process_index, process_count)
                step += 1

        return _Prefetcher(gen(), self.prefetch) if self.prefetch > 0 else gen()
