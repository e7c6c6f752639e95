"""Stacked MNIST: the stack builder, the mode statistics against hand-computed answers, the classifier.

The data tests use the shared MNIST test digits (``../shared/data/mnist``) and an idx parser independent of
ganjax (``tests.data_helpers``); the mode statistics use constructed mode lists whose answers are known in
closed form. Training the digit classifier to 99% takes minutes on a 2-core CPU, so its test trains a
small budget and checks it is far above chance; the 99% figure comes from ``benchmarks/quality.py`` and
is recorded in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganjax.data import get_source
from ganjax.data import stacked_mnist as D
from ganjax.errors import ConfigError, DataError, WeightsError
from ganjax.metrics import classifier as C
from ganjax.metrics import stacked_mnist as M
from tests.data_helpers import MNIST_DIR, data_config, mnist_arrays, mnist_dir


def _source(**overrides):
    cfg = dict(name='stacked_mnist', path=str(mnist_dir()), split='test', max_examples=500, prefetch=0)
    cfg.update(overrides)
    return get_source(data_config(**cfg), seed=3)


# ---------------------------------------------------------------- mode statistics

def test_uniform_over_all_modes_is_kl_zero():
    modes = np.repeat(np.arange(1000), 26)  # 26,000 samples, exactly 26 per mode
    hit, kl = M.mode_coverage(modes)
    assert hit == 1000
    assert abs(kl) < 1e-12


def test_total_collapse_is_log_1000():
    hit, kl = M.mode_coverage(np.full(26000, 417))
    assert hit == 1
    assert kl == pytest.approx(math.log(1000), rel=1e-12)


def test_hand_computed_small_case():
    # Modes 0, 0, 0, 1 over a universe of 4: p = (3/4, 1/4, 0, 0).
    # KL = 3/4 log(3/4 * 4) + 1/4 log(1/4 * 4) = 3/4 log 3.
    hit, kl = M.mode_coverage(np.array([0, 0, 0, 1]), num_modes=4)
    assert hit == 2
    assert kl == pytest.approx(0.75 * math.log(3), rel=1e-12)
    # Half the 1000 modes, evenly: KL = log(1000 / 500) = log 2.
    hit, kl = M.mode_coverage(np.arange(0, 1000, 2))
    assert (hit, kl) == (500, pytest.approx(math.log(2), rel=1e-12))


def test_channel_kl_hand_values_and_chain_rule():
    # Every sample's R digit is 7, G and B uniform: R's KL is log 10, the others 0, the mode KL log 10.
    modes = 700 + np.arange(100)
    assert M.channel_kl(modes) == pytest.approx([math.log(10), 0.0, 0.0], abs=1e-12)
    # An exactly independent stack: R in {0, 1} with counts 3:1, G uniform, B in {0..4} evenly. The chain
    # rule says mode KL = sum of channel KLs when the channels are independent:
    # R: 3/4 log(7.5) + 1/4 log(2.5); G: 0; B: log 2.
    r, g, b = np.meshgrid([0, 0, 0, 1], np.arange(10), np.arange(5), indexing='ij')
    modes = (100 * r + 10 * g + b).ravel()
    want = [0.75 * math.log(7.5) + 0.25 * math.log(2.5), 0.0, math.log(2)]
    assert M.channel_kl(modes) == pytest.approx(want, abs=1e-12)
    assert M.mode_coverage(modes)[1] == pytest.approx(sum(want), abs=1e-12)
    # Fully dependent channels (R = G = B, uniform): each channel is uniform, so the mode KL
    # log(1000 / 10) is all mutual information.
    modes = 111 * np.arange(10)
    assert M.channel_kl(modes) == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    assert M.mode_coverage(modes)[1] == pytest.approx(math.log(100), abs=1e-12)
    with pytest.raises(DataError):
        M.channel_kl(np.array([1000]))


def test_bad_mode_ids_raise():
    for bad in (np.array([0, 1000]), np.array([-1, 2]), np.array([], np.int64), np.array([0.5, 1.0])):
        with pytest.raises(DataError):
            M.mode_coverage(bad)


# ---------------------------------------------------------------- the stack builder

def test_stack_channels_are_the_digits_its_label_names():
    digits, labels = mnist_arrays()
    labels = labels.astype(np.int64)  # the idx file's uint8 would overflow at 100 * label
    src = _source(conditional=True)
    assert (src.example_shape, src.num_classes) == ((28, 28, 3), 1000)
    store = src.store
    idx = np.arange(50)
    images, modes = store.take(idx)
    triples = D.stack_triples(3, 500, len(digits))[idx]
    for c in range(3):
        np.testing.assert_array_equal(images[..., c], digits[triples[:, c]])
    np.testing.assert_array_equal(modes, 100 * labels[triples[:, 0]] + 10 * labels[triples[:, 1]]
                                  + labels[triples[:, 2]])
    batch = next(src.iterate(16))
    assert batch['x'].dtype == np.float32 and batch['x'].min() == -1.0 and batch['x'].max() == 1.0
    # the batch's images are the stacks of the labels it carries
    first = src.indices(0, 16)
    np.testing.assert_array_equal(batch['label'], store.take(first)[1])
    np.testing.assert_array_equal(batch['x'], store.take(first)[0] / np.float32(127.5) - 1)


def test_padding_to_32_keeps_the_digits_centred():
    a, b = _source().store, _source(image_size=32).store
    small, _ = a.take(np.arange(8))
    big, _ = b.take(np.arange(8))
    assert big.shape == (8, 32, 32, 3)
    np.testing.assert_array_equal(big[:, 2:30, 2:30], small)
    assert big[:, :2].max() == 0 and big[:, 30:].max() == 0 and big[:, :, :2].max() == 0


def test_deterministic_in_seed_and_step_and_covers_modes():
    one, two = _source(), _source()
    for _ in range(2):
        np.testing.assert_array_equal(next(one.iterate(32, start_step=7))['x'],
                                      next(two.iterate(32, start_step=7))['x'])
    other = get_source(data_config(name='stacked_mnist', path=str(MNIST_DIR), split='test',
                                   max_examples=500, prefetch=0), seed=4)
    assert not np.array_equal(one.store.triples, other.store.triples)
    # 20,000 uniform triples of 10k digits reach nearly every one of the 1000 modes (expected misses
    # 1000 * (1 - 1/1000)^20000 ~ 0; allow for the uneven digit frequencies of the test set).
    digits, labels = mnist_arrays()
    triples = D.stack_triples(0, 20000, len(digits))
    hit, kl = M.mode_coverage(D.mode_ids(labels[triples]))
    assert hit == 1000 and kl < 0.05


def test_bad_options_raise():
    with pytest.raises(ConfigError):
        _source(image_size=64)
    with pytest.raises(ConfigError):
        _source(channels=1)
    with pytest.raises(ConfigError):
        _source(random_flip=True)
    with pytest.raises(DataError):
        _source(path='/nonexistent/mnist')


# ---------------------------------------------------------------- the classifier

def test_classifier_learns_and_recovers_stack_modes(tmp_path):
    """A 120-step budget of batch 64 (under a minute on a loaded 2-core CPU): far above chance on held-out
    digits, and the modes of real stacks come back from their channels. The 99% classifier is the default
    2000 steps of batch 128 (benchmarks/RESULTS.md)."""
    digits, labels = mnist_arrays()
    train, held = C.holdout_split(len(digits), 2000)
    params = C.train_classifier(digits[train], labels[train], steps=120, batch_size=64)
    acc = C.accuracy(params, digits[held], labels[held])
    assert acc > 0.9, acc
    src = _source(image_size=32)
    images, modes = src.store.take(np.arange(200))
    found = M.stack_modes(params, images)
    assert np.mean(found == modes) > 0.9 ** 3 - 0.05  # three digits right per stack
    # cache round trip; a weak classifier is refused
    C.save_classifier(tmp_path / 'c.npz', params, 0.995, 2000)
    again, stored = C.load_classifier(tmp_path / 'c.npz', 0.99)
    assert stored == 0.995
    np.testing.assert_array_equal(C.predict(again, digits[held[:100]]), C.predict(params, digits[held[:100]]))
    C.save_classifier(tmp_path / 'weak.npz', params, 0.5, 2000)
    with pytest.raises(WeightsError):
        C.load_classifier(tmp_path / 'weak.npz', 0.99)
    with pytest.raises(DataError):
        M.stack_modes(params, np.zeros((2, 30, 30, 3), np.float32))
