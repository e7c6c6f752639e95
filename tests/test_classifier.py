"""The dataset classifiers behind the class-based metrics, and the matched code-class agreement."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ganjax.errors import DataError, WeightsError
from ganjax.metrics import classifier as C
from tests.data_helpers import FASHION_DIR


def test_matched_agreement_against_brute_force():
    """The Hungarian matching equals the best of all 5! code-to-class permutations, computed naively."""
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 5, 400)
    codes = np.where(rng.random(400) < 0.7, (classes * 3 + 1) % 5, rng.integers(0, 5, 400))
    best = max(np.mean(np.asarray(perm)[codes] == classes) for perm in itertools.permutations(range(5)))
    assert C.matched_agreement(codes, classes) == pytest.approx(best)
    # a relabelled copy agrees perfectly; unequal lengths are refused
    assert C.matched_agreement((classes + 2) % 5, classes) == 1.0
    with pytest.raises(DataError):
        C.matched_agreement(codes[:3], classes)


def test_to_input_fits_other_sizes():
    """28x28 uint8 maps to [-1, 1]; a 32x32 padding of it comes back exactly by 'crop'; a constant image
    stays constant under 'resize'."""
    x = np.random.default_rng(1).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    unit = C.to_input(x)
    np.testing.assert_allclose(unit[..., 0], x / 127.5 - 1.0, atol=1e-6)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    np.testing.assert_array_equal(C.to_input(padded, fit='crop'), unit)
    flat = C.to_input(np.full((2, 32, 32, 1), 0.25, np.float32))
    np.testing.assert_allclose(flat, 0.25, atol=1e-6)
    with pytest.raises(DataError):
        C.to_input(np.zeros((2, 28, 30)))


def test_fashion_classifier_learns_and_caches(tmp_path):
    """A 150-step Fashion-MNIST classifier (about 30 s on 2 cores) is far above chance on the test items,
    survives the cache round trip, exposes the penultimate features that produce its logits, and a cache
    file below the floor is refused. The cached 90% classifier is the default 2000 steps."""
    from ganjax.data.files import read_files

    if not FASHION_DIR.is_dir():
        pytest.skip(f'{FASHION_DIR} missing (Debian package dataset-fashion-mnist; CI installs it)')
    x, y, _ = read_files(str(FASHION_DIR), 'train', 0, 1, 6000)
    hx, hy, _ = read_files(str(FASHION_DIR), 'test', 0, 1, 1000)
    params = C.train_classifier(x, y, steps=150, batch_size=64)
    acc = C.accuracy(params, hx, hy)
    assert acc > 0.6, acc
    feats = C.features(params, hx[:50])
    logits = feats @ np.asarray(params['Dense_1']['kernel']) + np.asarray(params['Dense_1']['bias'])
    np.testing.assert_array_equal(np.argmax(logits, -1), C.predict(params, hx[:50]))
    C.save_classifier(tmp_path / 'f.npz', params, 0.95, 1000)
    again, stored = C.get_classifier('fashion_mnist', cache_path=tmp_path / 'f.npz')
    assert stored == 0.95
    np.testing.assert_array_equal(C.predict(again, hx[:100]), C.predict(params, hx[:100]))
    C.save_classifier(tmp_path / 'weak.npz', params, 0.5, 1000)
    with pytest.raises(WeightsError):
        C.get_classifier('fashion_mnist', cache_path=tmp_path / 'weak.npz')
    with pytest.raises(DataError):
        C.get_classifier('cifar10')
