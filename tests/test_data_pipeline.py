"""The pipeline's order, resumption, per-process slicing, flips, pixel scaling and prefetching.

Each example of the synthetic store carries its own index in its pixels and its label, so a batch can be
decoded back into the dataset indices it holds and checked against counting arguments.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ganjax.data.pipeline import (ArrayStore, ImageSource, center_crop_resize, convert_channels,
                                  epoch_permutation, preprocess)
from ganjax.errors import DataError

N = 100


def indexed_source(n: int = N, seed: int = 0, **kw) -> ImageSource:
    """Example ``i``: a 4x4x1 image whose left column is ``i`` and the rest 255 - i; label ``i``."""
    images = np.empty((n, 4, 4, 1), np.uint8)
    idx = np.arange(n, dtype=np.uint8)
    images[...] = (255 - idx)[:, None, None, None]
    images[:, :, 0, 0] = idx[:, None]
    return ImageSource('indexed', ArrayStore(images, np.arange(n)), (4, 4, 1), num_classes=n, seed=seed, **kw)


def decode(batch) -> np.ndarray:
    """Dataset indices from the pixels (un-flipped column 0), checked against the labels."""
    pixels = np.rint((batch['x'] + 1) * 127.5).astype(int)
    left, right = pixels[:, 0, 0, 0], pixels[:, 0, -1, 0]
    idx = np.where(left + right == 255, np.minimum(left, right), -1)
    return idx


def take(it, k):
    return [next(it) for _ in range(k)]


def test_every_epoch_is_a_permutation_and_epochs_differ():
    src = indexed_source(prefetch=0)
    e = 25  # 4 steps per epoch
    seen = np.concatenate([b['label'] for b in take(src.iterate(e), 8)])
    first, second = seen[:N], seen[N:]
    assert sorted(first) == list(range(N)) and sorted(second) == list(range(N))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, epoch_permutation(0, 0, N))


def test_steps_straddle_epochs_without_dropping_examples():
    src = indexed_source(prefetch=0)
    e = 30  # step 3 holds the last 10 of epoch 0 and the first 20 of epoch 1
    labels = [b['label'] for b in take(src.iterate(e), 4)]
    np.testing.assert_array_equal(labels[3][:10], epoch_permutation(0, 0, N)[90:])
    np.testing.assert_array_equal(labels[3][10:], epoch_permutation(0, 1, N)[:20])


@pytest.mark.parametrize('start', [0, 1, 3, 7])
def test_resume_gives_the_uninterrupted_batches(start):
    """A run restarted at ``start`` (mid-epoch for 1, 3, 7 with 30 per step) sees the same batches."""
    full = take(indexed_source(random_flip=True).iterate(30), 10)
    resumed = take(indexed_source(random_flip=True).iterate(30, start_step=start), 10 - start)
    for a, b in zip(full[start:], resumed):
        np.testing.assert_array_equal(a['x'], b['x'])
        np.testing.assert_array_equal(a['label'], b['label'])


def test_seed_changes_the_order():
    a = next(indexed_source(seed=0).iterate(50))['label']
    b = next(indexed_source(seed=1).iterate(50))['label']
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, next(indexed_source(seed=0).iterate(50))['label'])


def test_processes_split_each_global_batch():
    single = take(indexed_source(random_flip=True).iterate(40), 5)
    parts = [take(indexed_source(random_flip=True).iterate(40, process_index=p, process_count=4), 5)
             for p in range(4)]
    for step in range(5):
        for key in ('x', 'label'):
            assert all(part[step][key].shape[0] == 10 for part in parts)
            joined = np.concatenate([part[step][key] for part in parts])
            np.testing.assert_array_equal(joined, single[step][key])


def test_pixels_scale_to_minus_one_one_and_flips_mirror_width():
    src = indexed_source(prefetch=0, random_flip=True)
    batch = src.batch(0, N)
    x, idx = batch['x'], batch['label']
    assert x.dtype == np.float32
    pixels = np.rint((x[..., 0] + 1) * 127.5).astype(int)
    flipped = pixels[:, 0, -1] == idx  # example i has its column of value i on the left unless flipped
    unflipped = np.where(flipped[:, None, None], x[:, :, ::-1, 0], x[:, :, :, 0])
    expected = np.empty((N, 4, 4))
    expected[...] = ((255 - idx) / 127.5 - 1)[:, None, None]  # scaled by hand: v / 127.5 - 1
    expected[:, :, 0] = (idx / 127.5 - 1)[:, None]
    np.testing.assert_allclose(unflipped, expected, rtol=0, atol=1e-6)
    assert 30 < flipped.sum() < 70  # about half of 100 are flipped
    np.testing.assert_array_equal(decode(batch), idx)
    extremes = ImageSource('e', ArrayStore(np.array([0, 255], np.uint8).reshape(2, 1, 1, 1)), (1, 1, 1), 0, 0,
                           prefetch=0)
    np.testing.assert_array_equal(extremes.batch(0, 2)['x'].ravel(), [-1.0, 1.0])
    assert not indexed_source(prefetch=0).random_flip
    np.testing.assert_array_equal(decode(indexed_source(prefetch=0).batch(0, N)),
                                  np.rint((indexed_source(prefetch=0).batch(0, N)['x'][:, 0, 0, 0] + 1)
                                          * 127.5).astype(int))


def test_prefetched_equals_inline_and_errors_reach_the_consumer():
    a = take(indexed_source(prefetch=3).iterate(20), 12)
    b = take(indexed_source(prefetch=0).iterate(20), 12)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u['x'], v['x'])

    class Broken(ArrayStore):
        def take(self, indices):
            raise DataError('broken store: cannot decode')

    src = ImageSource('broken', Broken(np.zeros((N, 2, 2, 1), np.uint8)), (2, 2, 1), 0, 0, prefetch=2)
    with pytest.raises(DataError, match='broken store'):
        next(src.iterate(10))


def test_fewer_examples_than_one_step_is_a_data_error():
    with pytest.raises(DataError, match=r'indexed: 100 examples, fewer than one step uses \(128'):
        indexed_source().iterate(128)


def test_gray_conversion_matches_pil_and_gray_to_rgb_repeats():
    rgb = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    ours = convert_channels(rgb, 1)[..., 0]
    np.testing.assert_array_equal(ours, np.asarray(Image.fromarray(rgb).convert('L')))
    gray = rgb[..., :1]
    np.testing.assert_array_equal(convert_channels(gray, 3), np.concatenate([gray] * 3, axis=-1))


def test_center_crop_takes_the_middle_square_and_resize_keeps_constants():
    im = np.arange(40 * 30, dtype=np.int64).reshape(40, 30, 1).astype(np.uint8)
    np.testing.assert_array_equal(center_crop_resize(im, 30), im[5:35])
    wide = np.random.default_rng(1).integers(0, 256, (10, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(center_crop_resize(wide, 10), wide[:, 3:13])
    const = np.full((50, 70, 3), 77, np.uint8)
    out = center_crop_resize(const, 32)
    assert out.shape == (32, 32, 3) and np.all(out == 77)


def test_mixed_sizes_need_image_size():
    images = [np.zeros((28, 28), np.uint8), np.zeros((32, 32), np.uint8)]
    with pytest.raises(DataError, match=r'src: images of different sizes \(28x28 at example 0, 32x32'):
        preprocess(images, 0, 0, 'src')
    assert preprocess(images, 16, 3, 'src').shape == (2, 16, 16, 3)
