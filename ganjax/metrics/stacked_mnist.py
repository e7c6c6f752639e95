"""The Stacked-MNIST mode metric: how many of the 1000 digit triples a generator makes, and how evenly.

Protocol (Metz et al. 2017, VEEGAN, PacGAN): classify each channel of N generated images (26,000 in the
papers) with a pretrained MNIST classifier; the mode of an image is ``100 R + 10 G + B``. Report the number
of modes hit (at least one sample) and ``KL(p || uniform)`` of the mode histogram ``p`` (0 for a perfect
generator, ``log 1000 = 6.91`` for a total collapse).

The classifier is a small CNN that ganjax trains itself (no pretrained weights to download), cached as an
``.npz`` (default ``<ganjax cache dir>/mnist_classifier.npz``). Offline the only MNIST is the 10k test set,
so it trains on 8,000 of those digits and holds out 2,000 (a fixed split) to report its accuracy; the
cache file records that accuracy, and loading refuses a file below :data:`MIN_ACCURACY`, since a weak
classifier turns sample noise into spurious modes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util

from ganjax.data.stacked_mnist import NUM_MODES
from ganjax.errors import DataError, WeightsError
from ganjax.metrics.weights import cache_dir
from ganjax.models.layers import Conv

CACHE_NAME = 'mnist_classifier.npz'
MIN_ACCURACY = 0.99
HOLDOUT = 2000
_SPLIT_SEED = 20261127


# ------------------------------------------------------------------------------------------------------
# Mode statistics.

def mode_histogram(modes: Any, num_modes: int = NUM_MODES) -> np.ndarray:
    """Counts of each mode id in ``[0, num_modes)``; an id outside is a DataError."""
    m = np.asarray(modes)
    if m.ndim != 1 or m.size == 0 or m.dtype.kind not in 'ui':
        raise DataError(f'mode ids must be a non-empty 1-D integer array, got {m.dtype} {m.shape}')
    if m.min() < 0 or m.max() >= num_modes:
        raise DataError(f'mode ids must lie in [0, {num_modes}), got [{m.min()}, {m.max()}]')
    return np.bincount(m, minlength=num_modes)


def mode_coverage(modes: Any, num_modes: int = NUM_MODES) -> tuple[int, float]:
    """``(modes hit, KL(p || uniform))`` of the mode ids, in nats: ``sum_k p_k log(p_k * num_modes)``."""
    counts = mode_histogram(modes, num_modes)
    p = counts[counts > 0] / counts.sum()
    return int(np.count_nonzero(counts)), float(np.sum(p * np.log(p * num_modes)))


# ------------------------------------------------------------------------------------------------------
# The digit classifier.

class DigitCNN(nn.Module):
    """28x28x1 in [-1, 1] -> 10 logits: two pairs of 3x3 conv layers, each pair max-pooled, then two dense
    layers. Keeping the 7x7 layout into the dense layer (no global pooling) is what takes it past 99% from
    8,000 digits with shift augmentation."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in (32, 64):
            x = nn.relu(Conv(width, (3, 3))(x))
            x = nn.relu(Conv(width, (3, 3))(x))
            x = nn.max_pool(x, (2, 2), (2, 2))
        x = nn.relu(nn.Dense(256)(x.reshape(x.shape[0], -1)))
        return nn.Dense(10)(x)


def _to_unit(digits: np.ndarray) -> np.ndarray:
    """uint8 [0, 255] or float [-1, 1] digits (N, 28, 28[, 1]) -> float32 (N, 28, 28, 1) in [-1, 1]."""
    x = np.asarray(digits)
    x = x.astype(np.float32) / 127.5 - 1.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return x.reshape(x.shape[0], 28, 28, 1)


def _shift(x: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Random translations of up to ``max_shift`` pixels, filled with background (-1)."""
    n = x.shape[0]
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)), constant_values=-1.0)
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    rows = dy[:, None] + np.arange(28)[None, :]
    cols = dx[:, None] + np.arange(28)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def holdout_split(n: int, holdout: int = HOLDOUT) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (train, held-out) indices of ``n`` digits: the last ``holdout`` of a seeded permutation."""
    if not 0 < holdout < n:
        raise DataError(f'need more than {holdout} digits to hold {holdout} out, got {n}')
    perm = np.random.default_rng(_SPLIT_SEED).permutation(n)
    return perm[:-holdout], perm[-holdout:]


def accuracy(params: Any, digits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(predict(params, digits) == np.asarray(labels)))


@jax.jit
def _logits(params: Any, x: jax.Array) -> jax.Array:
    return DigitCNN().apply({'params': params}, x)


def predict(params: Any, digits: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Digit classes of ``digits`` (the last chunk padded to ``batch_size`` so nothing recompiles)."""
    x = _to_unit(digits)
    out = []
    for s in range(0, len(x), batch_size):
        chunk = x[s:s + batch_size]
        m = len(chunk)
        if m < batch_size:
            chunk = np.concatenate([chunk, np.full((batch_size - m, 28, 28, 1), -1.0, np.float32)])
        out.append(np.asarray(jnp.argmax(_logits(params, chunk), axis=-1))[:m])
    return np.concatenate(out)


def train_classifier(digits: np.ndarray, labels: np.ndarray, steps: int = 2000, batch_size: int = 128,
                     seed: int = 0, log: Callable[[str], None] = lambda s: None) -> Any:
    """Train :class:`DigitCNN` on ``digits`` with shift augmentation (Adam, cosine-decayed 2e-3)."""
    x, y = _to_unit(digits), np.asarray(labels, np.int32)
    model = DigitCNN()
    params = model.init(jax.random.PRNGKey(seed), x[:1])['params']
    tx = optax.adam(optax.cosine_decay_schedule(2e-3, steps))
    opt = tx.init(params)

    @jax.jit
    def step(params, opt, xb, yb):
        def loss_fn(p):
            return optax.softmax_cross_entropy_with_integer_labels(model.apply({'params': p}, xb), yb).mean()

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt = tx.update(grads, opt, params)
        return optax.apply_updates(params, updates), opt, loss

    rng = np.random.default_rng(seed)
    for i in range(steps):
        idx = rng.integers(0, len(x), batch_size)
        params, opt, loss = step(params, opt, _shift(x[idx], rng), y[idx])
        if (i + 1) % 500 == 0:
            log(f'digit classifier: step {i + 1}/{steps}, loss {float(loss):.4f}')
    return params


def save_classifier(path: str | Path, params: Any, heldout_accuracy: float) -> None:
    flat = {'/'.join(k): np.asarray(v) for k, v in traverse_util.flatten_dict(params).items()}
    meta = json.dumps({'heldout_accuracy': heldout_accuracy, 'holdout': HOLDOUT})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, __meta__=np.frombuffer(meta.encode(), np.uint8), **flat)


def load_classifier(path: str | Path) -> tuple[Any, float]:
    """``(params, held-out accuracy)`` from a cache file; WeightsError if unreadable or below 99%."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z['__meta__'].tobytes().decode())
            flat = {tuple(k.split('/')): jnp.asarray(z[k]) for k in z.files if k != '__meta__'}
    except (OSError, ValueError, KeyError) as e:
        raise WeightsError(f'{path}: cannot read the digit classifier ({e}); delete it to retrain') from None
    acc = float(meta['heldout_accuracy'])
    if acc < MIN_ACCURACY:
        raise WeightsError(f'{path}: digit classifier held-out accuracy {acc:.4f} < {MIN_ACCURACY}; '
                           'delete it to retrain')
    return traverse_util.unflatten_dict(flat), acc


def get_classifier(mnist_path: str | Path | None, cache_path: str | Path | None = None,
                   log: Callable[[str], None] = lambda s: None) -> tuple[Any, float]:
    """The cached classifier, or one trained on the idx **test** digits at ``mnist_path`` (the MNIST that is
    offline here; 8,000 to train, 2,000 held out by :func:`holdout_split`) and cached.

    Returns ``(params, held-out accuracy)``; a freshly trained one below :data:`MIN_ACCURACY` is a
    WeightsError (and is not cached).
    """
    path = Path(cache_path) if cache_path else cache_dir() / CACHE_NAME
    if path.is_file():
        return load_classifier(path)
    if not mnist_path:
        raise WeightsError(f'no digit classifier at {path}; pass the MNIST idx folder to train one')
    from ganjax.data.files import read_files

    digits, labels, _ = read_files(str(mnist_path), 'test', 0, 1, 0)
    if labels is None:
        raise DataError(f'{mnist_path}: the digit classifier needs the idx labels file')
    train, held = holdout_split(len(digits))
    log(f'training the digit classifier on {len(train)} digits, holding out {len(held)}')
    params = train_classifier(digits[train], labels[train], log=log)
    acc = accuracy(params, digits[held], labels[held])
    log(f'digit classifier held-out accuracy {acc:.4f}')
    if acc < MIN_ACCURACY:
        raise WeightsError(f'the digit classifier reached {acc:.4f} held-out accuracy, below {MIN_ACCURACY}')
    save_classifier(path, params, acc)
    return params, acc


# ------------------------------------------------------------------------------------------------------
# Samples -> modes.

def stack_modes(params: Any, images: Any) -> np.ndarray:
    """Mode ids of RGB stacks ``(N, 28 or 32, same, 3)`` in [-1, 1] or uint8 (32x32 is center-cropped)."""
    x = np.asarray(images)
    if x.ndim != 4 or x.shape[-1] != 3 or x.shape[1:3] not in ((28, 28), (32, 32)):
        raise DataError(f'stacked MNIST samples must be (N, 28, 28, 3) or (N, 32, 32, 3), got {x.shape}')
    if x.shape[1] == 32:
        x = x[:, 2:30, 2:30]
    digits = [predict(params, x[..., c]) for c in range(3)]
    return 100 * digits[0] + 10 * digits[1] + digits[2]
