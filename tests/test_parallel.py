"""'single', 'sharded' and 'pmap' compute the same training run (8 emulated CPU devices)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, emulated_devices

EIGHT = {**os.environ, 'XLA_FLAGS': emulated_devices(8), 'PYTHONPATH': str(ROOT)}


def _run_modes(tmp_path, model, steps, *pairs):
    out = tmp_path / 'out.npz'
    r = subprocess.run([sys.executable, str(ROOT / 'tests' / 'multidevice_run.py'), str(out), model, str(steps),
                        *pairs], env=EIGHT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'devices 8' in r.stdout
    res = dict(np.load(out))
    return {mode: {k.split('/', 1)[1]: v for k, v in res.items() if k.startswith(mode + '/')}
            for mode in ('single', 'sharded', 'pmap')}


def _assert_same(runs, atol):
    single = runs['single']
    for mode in ('sharded', 'pmap'):
        assert runs[mode].keys() == single.keys()
        for key, value in single.items():
            np.testing.assert_allclose(runs[mode][key], value, atol=atol, rtol=1e-4, err_msg=f'{mode} {key}')
    # the run must actually have trained: samples differ from an untrained generator's would be ideal, but
    # at least the parameters must not be the initial ones shared by all modes
    assert any(np.abs(v).max() > 0 for v in single.values())


@pytest.mark.slow
def test_mlp_with_penalty_same_in_all_modes(tmp_path):
    runs = _run_modes(tmp_path, 'mlp', 50, 'penalty.name=wgan_gp', 'train.d_steps=2')
    _assert_same(runs, atol=1e-5)


@pytest.mark.slow
def test_dcgan_same_in_all_modes_and_batch_norm_is_global(tmp_path):
    # G has batch norm: its statistics (under 'c', the collections) must be those of the global batch
    runs = _run_modes(tmp_path, 'dcgan', 5, 'model.g_batch_norm=True', 'train.log_every=1')
    assert any('batch_stats' in k for k in runs['single'])
    # batch-norm statistics are sums over 8 shards in another order: a few elements differ by ~1.5e-5
    _assert_same(runs, atol=5e-5)


@pytest.mark.slow
@pytest.mark.parametrize('game', ['infogan_like', 'path_length_like', 'cycle_like', 'unrolled_like'])
def test_games_same_in_all_modes(tmp_path, game):
    """Each test game (tests/games/) trains the same in the three modes: every network, EMA and extra state."""
    runs = _run_modes(tmp_path, 'mlp', 6, f'game.name=tests.games.{game}', 'model.latent_dim=3')
    _assert_same(runs, atol=1e-5)
