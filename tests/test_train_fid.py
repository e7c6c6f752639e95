"""FID inside training (eval.fid_every_steps): reference statistics of the training data are cached in the
workdir and the final FID is that of the EMA generator's samples against them."""

import json

import numpy as np
import pytest

from ganjax.metrics import fid as fid_lib
from ganjax.metrics import weights as W
from ganjax.train import train_and_evaluate
from tests.conftest import SHARED_DATA, tiny_config

CIFAR = SHARED_DATA / 'cifar10-test-jpeg' / 'cifar10_test.npz'
pytestmark = pytest.mark.skipif(not (W.cache_path().is_file() and CIFAR.is_file()),
                                reason='needs the cached FID Inception weights (see .ci/run) and shared CIFAR')


@pytest.mark.slow
def test_fid_in_training(tmp_path):
    c = tiny_config(**{'model.name': 'dcgan', 'model.width': 8, 'model.latent_dim': 16, 'data.name': 'cifar10',
                       'data.path': str(CIFAR), 'data.max_examples': 64, 'train.num_steps': 2,
                       'train.batch_size': 8, 'eval.num_samples': 24, 'eval.fid_every_steps': 1})
    summary = train_and_evaluate(c, tmp_path)
    fid = summary['metrics']['fid']
    assert np.isfinite(fid) and fid > 0
    assert json.loads((tmp_path / 'summary.json').read_text())['metrics']['fid'] == fid
    logged = [json.loads(l) for l in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
    assert [l['step'] for l in logged if 'fid' in l] == [1]

    # the reference statistics are those of the first eval.num_samples images the data source yields
    from ganjax import data
    images = next(data.get_source(c.data, c.seed).iterate(24, start_step=0))['x']
    ext = fid_lib.InceptionFeatures()
    mu, sigma = fid_lib.load_stats(tmp_path / 'fid_reference_stats.npz')
    ref_mu, ref_sigma = ext.stats([images])
    np.testing.assert_allclose(mu, ref_mu, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sigma, ref_sigma, rtol=1e-6, atol=1e-6)
    # and the final FID is the samples' (saved as uint8, hence the tolerance) against them
    samples = np.load(tmp_path / 'samples.npz')['samples']
    again = fid_lib.frechet_distance(*ext.stats([samples]), mu, sigma)
    np.testing.assert_allclose(again, fid, rtol=0.02)
