"""ganjax.fileio.save_npz: a cache file is replaced whole or left as it was."""

import numpy as np
import pytest

from ganjax import fileio


def test_save_npz_round_trip_and_numpy_naming(tmp_path):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    fileio.save_npz(tmp_path / 'stats', {'mu': a, 'path': 'x/y'})  # np.savez would name it stats.npz
    with np.load(tmp_path / 'stats.npz') as z:
        np.testing.assert_array_equal(z['mu'], a)
        assert str(z['path']) == 'x/y'  # array names may be anything, 'path' too
    fileio.save_npz(tmp_path / 'c.npz', {'x': a}, compressed=True)
    with np.load(tmp_path / 'c.npz') as z:
        np.testing.assert_array_equal(z['x'], a)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['c.npz', 'stats.npz']  # and no temporary file left


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / 'cache.npz'
    fileio.save_npz(path, {'x': np.ones(3)})

    def half_write(file, **arrays):  # a write that dies part-way (full disk, kill)
        with open(file, 'wb') as f:
            f.write(b'PK\x03\x04 truncated')
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(np, 'savez', half_write)
    with pytest.raises(OSError, match='No space'):
        fileio.save_npz(path, {'x': np.zeros(3)})
    monkeypatch.undo()
    with np.load(path) as z:
        np.testing.assert_array_equal(z['x'], np.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ['cache.npz']
