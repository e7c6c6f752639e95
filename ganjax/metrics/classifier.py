"""Small 28x28 image classifiers that ganjax trains itself, for metrics that need class labels of samples.

Several measurements ask "what class is this generated image?": the Stacked-MNIST mode count (one MNIST digit
per channel), the accuracy of a conditional generator at making the class it was asked for, InfoGAN's
code-class agreement, a translated edge map's class. No pretrained classifier can be downloaded here, so
ganjax trains one per dataset on first use and caches it as an ``.npz`` in the ganjax cache directory. The
cache records the held-out accuracy; loading refuses a file below the dataset's floor, since a weak
classifier turns sample noise into spurious modes or wrong classes.

Datasets (:data:`DATASETS`):

- ``mnist``: offline the only MNIST is the 10k **test** set (``../shared/data/mnist``), so the classifier
  trains on 8,000 of those digits and holds out 2,000 (a fixed seeded split); floor 99%.
- ``fashion_mnist``: the 60k training items train it, the 10k test items are held out; floor 90%. The
  Debian ``dataset-fashion-mnist`` folder is the default location.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import traverse_util

from ganjax.errors import DataError, WeightsError
from ganjax.fileio import save_npz
from ganjax.metrics.weights import cache_dir
from ganjax.models.layers import Conv

_SPLIT_SEED = 20261127
SIZE = 28


@dataclasses.dataclass(frozen=True)
class Dataset:
    """How the classifier of one dataset is trained, held out, judged and cached."""

    cache_name: str
    min_accuracy: float
    default_path: str = ''
    holdout: int = 0  # > 0: hold out this many of the train split's items; 0: the test split is held out
    train_split: str = 'train'
    steps: int = 2000


DATASETS: dict[str, Dataset] = {
    'mnist': Dataset('mnist_classifier.npz', 0.99, holdout=2000, train_split='test'),
    'fashion_mnist': Dataset('fashion_mnist_classifier.npz', 0.90, '/usr/share/datasets/fashion-mnist'),
}


class SmallCNN(nn.Module):
    """28x28x1 in [-1, 1] -> logits: two pairs of 3x3 conv layers, each pair max-pooled, then two dense
    layers. Keeping the 7x7 layout into the dense layer (no global pooling) is what takes it past 99% on
    MNIST from 8,000 digits with shift augmentation. ``features=True`` returns the 256 penultimate units
    (for feature-space distances between sample sets)."""

    num_classes: int = 10

    @nn.compact
    def __call__(self, x: jax.Array, features: bool = False) -> jax.Array:
        for width in (32, 64):
            x = nn.relu(Conv(width, (3, 3))(x))
            x = nn.relu(Conv(width, (3, 3))(x))
            x = nn.max_pool(x, (2, 2), (2, 2))
        h = nn.relu(nn.Dense(256)(x.reshape(x.shape[0], -1)))
        return h if features else nn.Dense(self.num_classes)(h)


def to_input(images: Any, fit: str = 'resize') -> np.ndarray:
    """uint8 [0, 255] or float [-1, 1] images (N, H, W[, 1]) -> float32 (N, 28, 28, 1) in [-1, 1].

    Square images of another size are brought to 28x28: ``fit='resize'`` (antialiased bilinear: for data
    that was resized, like Fashion-MNIST at 32x32) or ``'crop'`` (the centre: for data that was padded,
    like Stacked-MNIST at 32x32).
    """
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[0] == 0 or x.shape[1] != x.shape[2] or x.dtype.kind not in 'uif':
        raise DataError(f'classifier input must be non-empty square grayscale images (N, H, W[, 1]), '
                        f'got {x.dtype} {x.shape}')
    x = x.astype(np.float32) / 127.5 - 1.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.shape[1] != SIZE:
        if fit == 'crop' and x.shape[1] > SIZE:
            o = (x.shape[1] - SIZE) // 2
            x = x[:, o:o + SIZE, o:o + SIZE]
        elif fit in ('crop', 'resize'):
            x = np.asarray(jax.image.resize(x, (x.shape[0], SIZE, SIZE), 'linear', antialias=True))
        else:
            raise ValueError(f"fit must be 'resize' or 'crop', got {fit!r}")
    return x[..., None]


def _shift(x: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Random translations of up to ``max_shift`` pixels, filled with background (-1)."""
    n = x.shape[0]
    padded = np.pad(x, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)), constant_values=-1.0)
    dy, dx = rng.integers(0, 2 * max_shift + 1, (2, n))
    rows = dy[:, None] + np.arange(SIZE)[None, :]
    cols = dx[:, None] + np.arange(SIZE)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def holdout_split(n: int, holdout: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (train, held-out) indices of ``n`` items: the last ``holdout`` of a seeded permutation."""
    if not 0 < holdout < n:
        raise DataError(f'need more than {holdout} items to hold {holdout} out, got {n}')
    perm = np.random.default_rng(_SPLIT_SEED).permutation(n)
    return perm[:-holdout], perm[-holdout:]


@jax.jit
def _logits(params: Any, x: jax.Array) -> jax.Array:
    return SmallCNN().apply({'params': params}, x)


@jax.jit
def _features(params: Any, x: jax.Array) -> jax.Array:
    return SmallCNN().apply({'params': params}, x, features=True)


def _batched(fn: Callable, params: Any, images: Any, fit: str, batch_size: int) -> np.ndarray:
    """``fn(params, chunk)`` over ``images`` (the last chunk padded to ``batch_size``: nothing recompiles)."""
    x = to_input(images, fit)
    out = []
    for s in range(0, len(x), batch_size):
        chunk = x[s:s + batch_size]
        m = len(chunk)
        if m < batch_size:
            chunk = np.concatenate([chunk, np.full((batch_size - m, SIZE, SIZE, 1), -1.0, np.float32)])
        out.append(np.asarray(fn(params, chunk))[:m])
    return np.concatenate(out)


def predict(params: Any, images: Any, fit: str = 'resize', batch_size: int = 1000) -> np.ndarray:
    """The class of each image (see :func:`to_input` for the accepted images and ``fit``)."""
    return _batched(lambda p, x: jnp.argmax(_logits(p, x), axis=-1), params, images, fit, batch_size)


def features(params: Any, images: Any, fit: str = 'resize', batch_size: int = 1000) -> np.ndarray:
    """The classifier's 256 penultimate activations per image, float32 (N, 256)."""
    return _batched(_features, params, images, fit, batch_size)


def accuracy(params: Any, images: Any, labels: Any) -> float:
    return float(np.mean(predict(params, images) == np.asarray(labels)))


def train_classifier(images: np.ndarray, labels: np.ndarray, steps: int = 2000, batch_size: int = 128,
                     seed: int = 0, log: Callable[[str], None] = lambda s: None) -> Any:
    """Train :class:`SmallCNN` on ``images`` with shift augmentation (Adam, cosine-decayed 2e-3)."""
    x, y = to_input(images), np.asarray(labels, np.int32)
    model = SmallCNN()
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
            log(f'classifier: step {i + 1}/{steps}, loss {float(loss):.4f}')
    return params


def save_classifier(path: str | Path, params: Any, heldout_accuracy: float, holdout: int) -> None:
    flat = {'/'.join(k): np.asarray(v) for k, v in traverse_util.flatten_dict(params).items()}
    meta = json.dumps({'heldout_accuracy': heldout_accuracy, 'holdout': holdout})
    save_npz(path, {'__meta__': np.frombuffer(meta.encode(), np.uint8), **flat})


def load_classifier(path: str | Path, min_accuracy: float) -> tuple[Any, float]:
    """``(params, held-out accuracy)`` from a cache file; WeightsError if unreadable or below the floor."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(z['__meta__'].tobytes().decode())
            flat = {tuple(k.split('/')): jnp.asarray(z[k]) for k in z.files if k != '__meta__'}
    except (OSError, ValueError, KeyError) as e:
        raise WeightsError(f'{path}: cannot read the classifier ({e}); delete it to retrain') from None
    acc = float(meta['heldout_accuracy'])
    if acc < min_accuracy:
        raise WeightsError(f'{path}: classifier held-out accuracy {acc:.4f} < {min_accuracy}; '
                           'delete it to retrain')
    return traverse_util.unflatten_dict(flat), acc


def get_classifier(name: str, data_path: str | Path | None = None, cache_path: str | Path | None = None,
                   log: Callable[[str], None] = lambda s: None) -> tuple[Any, float]:
    """The cached classifier of dataset ``name`` (a key of :data:`DATASETS`), or one trained on the idx
    files at ``data_path`` (default: the dataset's usual offline location) and cached.

    Returns ``(params, held-out accuracy)``; a freshly trained one below the floor is a WeightsError (and is
    not cached).
    """
    if name not in DATASETS:
        raise DataError(f"no classifier for {name!r}; known: {', '.join(DATASETS)}")
    ds = DATASETS[name]
    path = Path(cache_path) if cache_path else cache_dir() / ds.cache_name
    if path.is_file():
        return load_classifier(path, ds.min_accuracy)
    data_path = data_path or ds.default_path
    if not data_path:
        raise WeightsError(f'no {name} classifier at {path}; pass the {name} idx folder to train one')
    from ganjax.data.files import read_files

    images, labels, _ = read_files(str(data_path), ds.train_split, 0, 1, 0)
    if labels is None:
        raise DataError(f'{data_path}: the {name} classifier needs the idx labels file')
    if ds.holdout:
        train, held = holdout_split(len(images), ds.holdout)
        x, y, hx, hy = images[train], labels[train], images[held], labels[held]
    else:
        x, y = images, labels
        hx, hy, _ = read_files(str(data_path), 'test', 0, 1, 0)
    log(f'training the {name} classifier on {len(x)} images, holding out {len(hx)}')
    params = train_classifier(x, y, steps=ds.steps, log=log)
    acc = accuracy(params, hx, hy)
    log(f'{name} classifier held-out accuracy {acc:.4f}')
    if acc < ds.min_accuracy:
        raise WeightsError(f'the {name} classifier reached {acc:.4f} held-out accuracy, below {ds.min_accuracy}')
    save_classifier(path, params, acc, len(hx))
    return params, acc


def matched_agreement(codes: Any, classes: Any) -> float:
    """Agreement of discrete ``codes`` with ``classes`` under the best one-to-one matching of code values
    to classes (the Hungarian algorithm on the contingency table): how InfoGAN's categorical code is
    scored, since which code value learns which class is arbitrary."""
    from scipy.optimize import linear_sum_assignment

    codes, classes = np.asarray(codes), np.asarray(classes)
    if codes.shape != classes.shape or codes.ndim != 1 or codes.size == 0:
        raise DataError(f'codes and classes must be equal-length 1-D arrays, got {codes.shape} and {classes.shape}')
    _, c = np.unique(codes, return_inverse=True)
    _, k = np.unique(classes, return_inverse=True)
    table = np.zeros((c.max() + 1, k.max() + 1), np.int64)
    np.add.at(table, (c, k), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / codes.size)
