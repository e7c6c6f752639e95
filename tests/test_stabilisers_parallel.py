"""The stabilisers compose with the parallel modes (8 emulated CPU devices, in subprocesses).

Options without cross-example state train identically in 'single', 'sharded' and 'pmap'; the model-side
options with it (minibatch discrimination, minibatch stddev) compare a device's own examples under pmap,
which tests/stabilisers_multidevice.py states and checks (ganjax/stabilisers.py's docstring says so).
"""

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.test_parallel import EIGHT, _assert_same, _run_modes

MLP_OPTIONS = ('stabilise.feature_matching=1.0', 'stabilise.historical_averaging=0.1',
               'stabilise.replay_fraction=0.5', 'stabilise.replay_size=96', 'stabilise.mode_seeking=0.1',
               'stabilise.virtual_batch_norm=8', 'stabilise.unrolled_steps=2', 'stabilise.pack=2')


@pytest.mark.slow
def test_vector_options_same_in_all_modes(tmp_path):
    """Feature matching, historical averaging, replay, mode seeking, VBN, unrolling and packing at once."""
    runs = _run_modes(tmp_path, 'mlp', 6, *MLP_OPTIONS)
    assert any('replay' in k for k in runs['single']) and any('history_G' in k for k in runs['single'])
    _assert_same(runs, atol=1e-5)


@pytest.mark.slow
def test_image_options_same_in_all_modes(tmp_path):
    """ADA (p in the state), bCR and packing on the DCGAN, G without batch norm."""
    runs = _run_modes(tmp_path, 'dcgan', 3, 'model.g_batch_norm=False', 'stabilise.ada_target=0.01',
                      'stabilise.ada_interval=1', 'stabilise.ada_kimg=0.1', 'stabilise.consistency=10.0',
                      'stabilise.pack=2')
    assert any('ada' in k for k in runs['single'])
    _assert_same(runs, atol=5e-5)


def test_cross_example_options_per_device_and_augmentations_global():
    r = subprocess.run([sys.executable, str(ROOT / 'tests' / 'stabilisers_multidevice.py')], env=EIGHT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count('ok ') == 5, r.stdout
