"""The TFDS path for real: datasets built on disk with TFDS's own builder API from the shared real data,
then loaded by name through ``get_source``, the same code that loads ``cifar10``. No mocking of TFDS.

The builders store images as PNG (like TFDS's mnist/cifar10) in array_record files and keep the source
order (``disable_shuffling``), so the examples read back must equal the original files pixel for pixel.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

tfds = pytest.importorskip('tensorflow_datasets')
from PIL import Image  # noqa: E402

from ganjax.data import get_source  # noqa: E402
from ganjax.data import tfds as tfds_reader  # noqa: E402
from ganjax.errors import DataError  # noqa: E402
from tests.data_helpers import MNIST_DIR, cifar_arrays, data_config, mnist_arrays  # noqa: E402

CIFAR_TRAIN = 1500  # examples of the CIFAR test set used as this builder's 'train' split
CIFAR_TEST = 500
MNIST_N = 2000  # the first MNIST_N shared MNIST test images (building all 10k takes ~12 s)


class GanjaxTestMnist(tfds.core.GeneratorBasedBuilder):
    """The first MNIST_N shared MNIST test images as a TFDS dataset with one 'train' split."""

    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self, supervised_keys=('image', 'label'), disable_shuffling=True,
            features=tfds.features.FeaturesDict({'image': tfds.features.Image(shape=(28, 28, 1)),
                                                 'label': tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
        return {'train': self._generate_examples()}

    def _generate_examples(self):
        images, labels = mnist_arrays()
        for i, (im, lab) in enumerate(zip(images[:MNIST_N], labels[:MNIST_N])):
            yield i, {'image': Image.fromarray(im, mode='L'), 'label': int(lab)}


class GanjaxTestCifar(tfds.core.GeneratorBasedBuilder):
    """Part of the shared CIFAR-10 test images as a TFDS dataset with 'train' and 'test' splits."""

    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self, supervised_keys=('image', 'label'), disable_shuffling=True,
            features=tfds.features.FeaturesDict({'image': tfds.features.Image(shape=(32, 32, 3)),
                                                 'label': tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
        return {'train': self._generate_examples(0, CIFAR_TRAIN),
                'test': self._generate_examples(CIFAR_TRAIN, CIFAR_TRAIN + CIFAR_TEST)}

    def _generate_examples(self, start, stop):
        images, labels = cifar_arrays()
        for i in range(start, stop):
            yield i, {'image': Image.fromarray(images[i]), 'label': int(labels[i])}


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    mnist_arrays(), cifar_arrays()  # skip early if the real data is missing
    d = tmp_path_factory.mktemp('tfds')
    for cls in (GanjaxTestMnist, GanjaxTestCifar):
        cls(data_dir=str(d), file_format='array_record').download_and_prepare()
    return str(d)


def _all(source):
    return source.store.take(np.arange(len(source)))


def test_mnist_by_name_gives_the_original_pixels_and_labels(data_dir):
    images, labels = mnist_arrays()
    src = get_source(data_config(name='ganjax_test_mnist', data_dir=data_dir, conditional=True), seed=0)
    assert (src.name, src.example_shape, src.num_classes, len(src)) == ('ganjax_test_mnist', (28, 28, 1),
                                                                         10, MNIST_N)
    got_images, got_labels = _all(src)
    np.testing.assert_array_equal(got_images[..., 0], images[:MNIST_N])
    np.testing.assert_array_equal(got_labels, labels[:MNIST_N])


def test_cifar_splits_and_cap(data_dir):
    images, labels = cifar_arrays()
    cfg = data_config(name='ganjax_test_cifar', data_dir=data_dir, split='test', conditional=True)
    got_images, got_labels = _all(get_source(cfg, seed=0))
    np.testing.assert_array_equal(got_images, images[CIFAR_TRAIN:CIFAR_TRAIN + CIFAR_TEST])
    np.testing.assert_array_equal(got_labels, labels[CIFAR_TRAIN:CIFAR_TRAIN + CIFAR_TEST])
    capped = get_source(data_config(name='ganjax_test_cifar', data_dir=data_dir, max_examples=100), seed=0)
    np.testing.assert_array_equal(_all(capped)[0], images[:100])
    gray = get_source(data_config(name='ganjax_test_cifar', data_dir=data_dir, max_examples=10, channels=1),
                      seed=0)
    expected = np.stack([np.asarray(Image.fromarray(im).convert('L')) for im in images[:10]])
    np.testing.assert_array_equal(_all(gray)[0][..., 0], expected)


def test_tfds_and_local_files_give_the_same_first_batch(data_dir):
    """The acceptance check of the issue: same seed, TFDS data_dir vs. data.path -> same first batch."""
    via_tfds = get_source(data_config(name='ganjax_test_mnist', data_dir=data_dir, conditional=True), seed=3)
    via_path = get_source(data_config(name='mnist', path=str(MNIST_DIR), conditional=True,
                                      max_examples=MNIST_N), seed=3)
    a, b = next(via_tfds.iterate(64 * 5)), next(via_path.iterate(64 * 5))
    np.testing.assert_array_equal(a['x'], b['x'])
    np.testing.assert_array_equal(a['label'], b['label'])


def test_lazy_store_decodes_the_same_batches(data_dir, monkeypatch):
    """Data over the memory budget stays on disk; batches must not change because of it."""
    cfg = data_config(name='ganjax_test_cifar', data_dir=data_dir, conditional=True, random_flip=True)
    eager = get_source(cfg, seed=1)
    monkeypatch.setattr(tfds_reader, 'MEMORY_BUDGET', 0)
    lazy = get_source(cfg, seed=1)
    assert isinstance(lazy.store, tfds_reader.LazyTFDSStore)
    for a, b in zip([eager.batch(s, 96) for s in (0, 15, 16)], [lazy.batch(s, 96) for s in (0, 15, 16)]):
        np.testing.assert_array_equal(a['x'], b['x'])
        np.testing.assert_array_equal(a['label'], b['label'])


def test_unknown_name_and_split(data_dir):
    with pytest.raises(DataError, match="TFDS does not know a dataset named 'no_such_dataset_xyz'"):
        get_source(data_config(name='no_such_dataset_xyz'), seed=0)
    with pytest.raises(DataError, match="TFDS dataset 'ganjax_test_mnist' has no split 'validation'"):
        get_source(data_config(name='ganjax_test_mnist', data_dir=data_dir, split='validation'), seed=0)


def test_not_downloaded_with_download_off(tmp_path):
    with pytest.raises(DataError) as e:
        get_source(data_config(name='cifar10', data_dir=str(tmp_path), download=False), seed=0)
    msg = str(e.value)
    assert "TFDS dataset 'cifar10' is not prepared in" in msg
    assert 'data.data_dir' in msg and 'data.path' in msg
    assert '\n' not in msg


def test_not_downloaded_and_offline_fails_fast(tmp_path, monkeypatch):
    """TFDS alone retries for minutes offline (measured: 204 s for mnist); we must answer in seconds.

    The download host is redirected to a closed loopback port, so the test sends nothing off this machine.
    """
    monkeypatch.setattr(tfds_reader, '_download_hosts', lambda builder: ['127.0.0.1'])
    t0 = time.perf_counter()
    with pytest.raises(DataError) as e:
        get_source(data_config(name='mnist', data_dir=str(tmp_path)), seed=0)
    assert time.perf_counter() - t0 < 3 * tfds_reader.PROBE_TIMEOUT_S
    msg = str(e.value)
    assert "TFDS dataset 'mnist' is not prepared in" in msg and 'data.data_dir' in msg and 'data.path' in msg
    assert '\n' not in msg
