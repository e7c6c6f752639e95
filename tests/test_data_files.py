"""Local files on real data (shared MNIST and CIFAR-10, Debian's Fashion-MNIST), and every bad input.

Pixels are compared with an idx parser written out in the test (tests/data_helpers.py) and with NumPy's
own reading of the .npz, never with ganjax's readers.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ganjax.data import get_source
from ganjax.errors import ConfigError, DataError
from tests.conftest import ROOT
from tests.data_helpers import (CIFAR_NPZ, FASHION_DIR, MNIST_DIR, cifar_arrays, data_config, mnist_arrays,
                                mnist_dir, parse_idx_gz, require)


def _all(source):
    return source.store.take(np.arange(len(source)))


# --- real data ------------------------------------------------------------------------------------------

def test_mnist_idx_directory():
    images, labels = mnist_arrays()
    gz = (MNIST_DIR / 't10k-images-idx3-ubyte.gz').read_bytes()
    assert hashlib.sha256(gz).hexdigest().startswith('8d422c7b0a1c1c79')  # the README's file
    src = get_source(data_config(name='mnist', path=str(MNIST_DIR), conditional=True), seed=0)
    assert (src.example_shape, src.num_classes, len(src), src.is_image) == ((28, 28, 1), 10, 10000, True)
    got, got_labels = _all(src)
    np.testing.assert_array_equal(got[..., 0], images)
    np.testing.assert_array_equal(got_labels, labels)
    assert get_source(data_config(name='mnist', path=str(MNIST_DIR)), seed=0).num_classes == 0
    batch = next(src.iterate(64))
    assert batch['x'].shape == (64, 28, 28, 1) and batch['label'].dtype == np.int32
    # every image of the batch is the dataset image its label position says, scaled to [-1, 1]
    idx = src.indices(0, 64)
    np.testing.assert_allclose(batch['x'][..., 0], images[idx] / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(batch['label'], labels[idx])


def test_mnist_single_file_cap_resize_and_rgb():
    images, _ = mnist_arrays()
    cfg = data_config(path=str(MNIST_DIR / 't10k-images-idx3-ubyte.gz'), max_examples=50, image_size=32,
                      channels=3)
    got, _ = _all(get_source(cfg, seed=0))
    assert got.shape == (50, 32, 32, 3)
    np.testing.assert_array_equal(got[..., 0], got[..., 2])
    expected = np.stack([np.asarray(Image.fromarray(im).resize((32, 32), Image.BICUBIC))
                         for im in images[:50]])
    np.testing.assert_array_equal(got[..., 0], expected)


def test_cifar_npz_and_float_npz(tmp_path):
    images, labels = cifar_arrays()
    src = get_source(data_config(name='cifar10', path=str(CIFAR_NPZ), conditional=True), seed=0)
    assert (src.example_shape, src.num_classes, len(src)) == ((32, 32, 3), 10, 10000)
    got, got_labels = _all(src)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(got_labels, labels)
    np.savez(tmp_path / 'f.npz', x=images[:20] / 255.0)  # floats in [0, 1], no labels
    got, lab = _all(get_source(data_config(path=str(tmp_path / 'f.npz')), seed=0))
    np.testing.assert_array_equal(got, images[:20])
    assert lab is None


def test_fashion_mnist_splits():
    require(FASHION_DIR, 'apt-get install -y dataset-fashion-mnist')
    for split, n, prefix in (('train', 60000, 'train'), ('test', 10000, 't10k')):
        src = get_source(data_config(path=str(FASHION_DIR), split=split, conditional=True), seed=0)
        assert (len(src), src.num_classes, src.example_shape) == (n, 10, (28, 28, 1))
        got, got_labels = _all(src)
        expected = parse_idx_gz(FASHION_DIR / f'{prefix}-images-idx3-ubyte.gz')
        np.testing.assert_array_equal(got[..., 0], expected)
        np.testing.assert_array_equal(np.bincount(got_labels), [n // 10] * 10)  # balanced classes


def test_image_folder_with_class_subfolders(tmp_path):
    images, labels = cifar_arrays()
    names = ['airplane', 'automobile', 'bird']
    kept = [int(i) for c in range(3) for i in np.flatnonzero(labels == c)[:10]]
    for i in kept:
        d = tmp_path / names[labels[i]]
        d.mkdir(exist_ok=True)
        Image.fromarray(images[i]).save(d / f'{i:05d}.png')
    src = get_source(data_config(path=str(tmp_path), conditional=True), seed=0)
    got, got_labels = _all(src)
    order = sorted(kept, key=lambda i: (labels[i], i))  # class folders sorted, then file names
    np.testing.assert_array_equal(got, images[order])  # PNG is lossless
    np.testing.assert_array_equal(got_labels, labels[order])
    assert src.num_classes == 3


def test_unlabelled_image_folder_with_jpeg_and_gray(tmp_path):
    images, _ = cifar_arrays()
    Image.fromarray(images[0]).save(tmp_path / 'a.jpg', quality=95)
    Image.fromarray(images[1]).convert('L').save(tmp_path / 'b.png')
    src = get_source(data_config(path=str(tmp_path)), seed=0)
    got, lab = _all(src)
    assert lab is None and src.num_classes == 0 and got.shape == (2, 32, 32, 3)  # gray promoted to RGB
    np.testing.assert_array_equal(got[0], np.asarray(Image.open(tmp_path / 'a.jpg')))
    gray = np.asarray(Image.fromarray(images[1]).convert('L'))
    np.testing.assert_array_equal(got[1], np.stack([gray] * 3, axis=-1))
    with pytest.raises(DataError, match='has no class labels, but data.conditional is on'):
        get_source(data_config(path=str(tmp_path), conditional=True), seed=0)


# --- bad input: a typed error whose one line names the source -------------------------------------------

def _data_error(cfg, match):
    with pytest.raises(DataError, match=match) as e:
        get_source(cfg, seed=0)
    assert '\n' not in str(e.value)


def test_missing_path(tmp_path):
    _data_error(data_config(path=str(tmp_path / 'nope')), r"data.path '.*nope' does not exist")


def test_empty_directory(tmp_path):
    _data_error(data_config(path=str(tmp_path)), r"data.path '.*': no PNG/JPEG images")


def test_corrupt_image_file(tmp_path):
    images, _ = cifar_arrays()
    Image.fromarray(images[0]).save(tmp_path / 'good.png')
    (tmp_path / 'bad.png').write_bytes(b'\x89PNG\r\n\x1a\n' + b'not really a png' * 10)
    _data_error(data_config(path=str(tmp_path)), r"data.path '.*': cannot decode image bad.png")


def test_npz_without_image_data(tmp_path):
    np.savez(tmp_path / 'x.npz', label=np.arange(10), weights=np.ones((3, 3)))
    _data_error(data_config(path=str(tmp_path / 'x.npz')),
                r"data.path '.*x.npz': no image array .*label\(10,\)")
    (tmp_path / 'broken.npz').write_bytes(b'PK\x03\x04 truncated')
    _data_error(data_config(path=str(tmp_path / 'broken.npz')),
                r"data.path '.*broken.npz': cannot read as .npz")
    np.savez(tmp_path / 'neg.npz', image=np.full((4, 8, 8), -3.0))
    _data_error(data_config(path=str(tmp_path / 'neg.npz')), r"data.path '.*neg.npz' \[image\]: pixel values")


def test_mixed_sizes_without_resize(tmp_path):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / 'a.png')
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / 'b.png')
    _data_error(data_config(path=str(tmp_path)),
                r"data.path '.*': images of different sizes "
                r"\(a.png is 28x28, b.png is 32x32\); set data.image_size")
    assert get_source(data_config(path=str(tmp_path), image_size=16), seed=0).example_shape == (16, 16, 1)


def test_truncated_idx(tmp_path):
    raw = (mnist_dir() / 't10k-images-idx3-ubyte.gz').read_bytes()
    import gzip

    (tmp_path / 'x-images-idx3-ubyte').write_bytes(gzip.decompress(raw)[:5000])
    _data_error(data_config(path=str(tmp_path)), r"data.path '.*': x-images-idx3-ubyte holds 4984 bytes")


def test_fewer_examples_than_one_batch():
    src = get_source(data_config(path=str(mnist_dir()), max_examples=100), seed=0)
    with pytest.raises(DataError, match=r'^t?mnist: 100 examples, fewer than one step uses \(320'):
        src.iterate(320)


def test_bad_option_values():
    with pytest.raises(ConfigError, match='data.channels'):
        get_source(data_config(path=str(mnist_dir()), channels=2), seed=0)


def test_cli_answers_bad_data_with_one_line_and_status_2(tmp_path):
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    r = subprocess.run([sys.executable, '-m', 'ganjax.main', '--config=experiments/dcgan_mnist.py',
                        f'--workdir={tmp_path / "run"}', f'--config.data.path={tmp_path / "missing"}'],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith('error: data.path') and 'does not exist' in r.stderr
    assert not (tmp_path / 'run').exists()
