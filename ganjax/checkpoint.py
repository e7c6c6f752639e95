"""Orbax checkpoints of a whole run, and loading a trained generator back for sampling.

A checkpoint is one Orbax step directory ``WORKDIR/checkpoints/<step>/`` holding

* the item ``state``: the whole :class:`~ganjax.state.GANState` (every network's parameters, collections,
  optimiser state and EMA, the game's extra state, the step and the PRNG key), written by Orbax's standard
  handler as a few packed arrays (see :func:`pack`), so it can be restored onto any device layout;
* the step's custom metadata (JSON): the config, the data position, the example shape, the game's sampler
  network, the state's layout (every leaf's path, shape and dtype) and the run's count of skipped
  non-finite updates.

Nothing else is needed to continue exactly: the step's PRNG key is ``fold_in(state.rng, state.step)`` and
every data source is a pure function of ``(seed, step)``, so the data position is the step itself (it is
stored separately anyway, and checked, so that a future stateful pipeline has a place to put its own).

Why packed: what an Orbax save costs is mostly Python work per save (~30 ms of CPU) and per array (~1.5 ms),
not bytes. The toy ring's state has 62 arrays and a step of ~5 ms, so saving them one by one every 100 steps
made the run ~27% slower. Packed, it is a few arrays: one per dtype for the sampler network's parameters,
collections and EMA (so that :func:`load_generator` reads only those) and one per dtype for the rest. The state is replicated on every
device (ganjax shards the batch, never the state), so the packed arrays are copied to host memory once and
handed to Orbax as NumPy arrays, which only process 0 writes; an array that is not fully replicated would
be handed to Orbax as the ``jax.Array`` it is.

Saving is asynchronous: the loop waits only for the packing and the host copy; the Orbax save runs on one
background thread, in order, while training goes on (figures in ``benchmarks/RESULTS.md``). It is atomic:
Orbax writes into a temporary directory and renames it when complete, so a killed process never leaves a
step directory that looks finished; leftovers are removed on the next start.

Restoring takes the newest checkpoint that reads back completely. A newer one that does not (truncated or
corrupt files) is reported in one line, moved to ``checkpoints/corrupt/<step>`` and skipped. A checkpoint
written by a config with another model, data shape or state layout raises :class:`CheckpointError`
instead of loading partially.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import json
import logging
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from ganjax.errors import CheckpointError, CheckpointWriteError
from ganjax.state import GANState, split_variables

PyTree = Any

# 1: one Orbax array per leaf and a JSON item; 2: packed two-network state (g_params, d_params, ...);
# 3: packed state keyed by network (params['G'], ...) with the game's extra state
FORMAT = 3
CHECKPOINT_DIR = 'checkpoints'
_SAVE_OVERHEAD = 256 << 10  # Orbax's metadata, manifests and directory entries beside the arrays' bytes
CORRUPT_DIR = 'corrupt'
# GANState tables whose sampler-network entries are packed apart from the rest, so sampling reads only those.
SAMPLER_FIELDS = ('params', 'collections', 'ema')

# Config keys that may change between a run and its resumption without changing what is computed (or whose
# change is the point of resuming, like a longer ``train.num_steps``). Entries ending in '.' are sections.
_FREE_KEYS = ('train.num_steps', 'train.log_every', 'train.on_nonfinite', 'eval.', 'checkpoint.',
              'parallel.', 'data.prefetch', 'data.data_dir', 'data.path', 'data.download', 'profile_steps')


@dataclasses.dataclass
class Restored:
    """What :meth:`Checkpoints.restore_latest` found: the state, its step and the saved metadata."""

    state: Any
    step: int
    meta: dict[str, Any]


def _warn(message: str) -> None:
    print(f'warning: {message}', file=sys.stderr, flush=True)


def _one_line(e: BaseException, limit: int = 160) -> str:
    text = ' '.join(str(e).split())
    text = text if len(text) <= limit else text[:limit - 3] + '...'
    return f'{type(e).__name__}: {text}' if text else type(e).__name__


@contextlib.contextmanager
def _quiet_orbax():
    """Silence Orbax's own log lines while probing checkpoints: an unreadable one is reported once, by us."""
    logger = logging.getLogger('absl')
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def config_to_json(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """The config as plain JSON data (what the checkpoint stores and :func:`load_generator` returns)."""
    return json.loads(config.to_json_best_effort())


def _flatten(d: dict[str, Any], prefix: str = '') -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f'{prefix}{k}.'))
        else:
            out[f'{prefix}{k}'] = v
    return out


def state_layout(state: PyTree) -> list[list[Any]]:
    """``[path, shape, dtype]`` of every leaf: what must match for a saved state to load into ``state``."""
    leaves, _ = jax.tree_util.tree_flatten_with_path(state)
    return [[jax.tree_util.keystr(path), list(leaf.shape), str(leaf.dtype)] for path, leaf in leaves]


def _key(entry: Any) -> Any:
    return getattr(entry, 'name', getattr(entry, 'key', entry))


def _group(path: tuple[Any, ...], leaf: Any, sampler: str) -> str:
    """The packed array a leaf goes into: ``'sampler.<dtype>'`` for the sampler network's entries of
    :data:`SAMPLER_FIELDS`, ``'train.<dtype>'`` for everything else."""
    own = _key(path[0]) in SAMPLER_FIELDS and len(path) > 1 and _key(path[1]) == sampler
    return f"{'sampler' if own else 'train'}.{jnp.dtype(leaf.dtype).name}"


def pack(state: PyTree, sampler: str) -> dict[str, jax.Array]:
    """``state``'s leaves raveled and concatenated, in tree order, into one 1-D array per group of
    :func:`_group`. Jittable; the inverse is :func:`unpack`, given a tree of the same structure, shapes
    and dtypes."""
    groups: dict[str, list[jax.Array]] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(state)[0]:
        groups.setdefault(_group(path, leaf, sampler), []).append(jnp.ravel(leaf))
    return {name: jnp.concatenate(parts) for name, parts in groups.items()}


def unpack(packed: dict[str, np.ndarray], like: PyTree, sampler: str) -> PyTree:
    """The tree of ``like``'s structure whose leaves are cut from ``packed`` (host arrays, as :func:`pack`
    made them). Raises ValueError if a packed array's size does not match ``like``'s leaves."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(like)
    names = [_group(path, leaf, sampler) for path, leaf in leaves]
    sizes = [int(np.prod(leaf.shape, dtype=np.int64)) for _, leaf in leaves]
    for name in dict.fromkeys(names):
        need = f'{(sum(n for g, n in zip(names, sizes) if g == name),)} {name.rsplit(".", 1)[1]}'
        got = f'{packed[name].shape} {packed[name].dtype}' if name in packed else 'missing'
        if got != need:
            raise ValueError(f'packed array {name} is {got}, the state needs {need}')
    offsets: dict[str, int] = {}
    out = []
    for (_, leaf), name, size in zip(leaves, names, sizes):
        start = offsets.get(name, 0)
        out.append(packed[name][start:start + size].reshape(leaf.shape))
        offsets[name] = start + size
    return treedef.unflatten(out)


def _host_target(like: PyTree, sampler: str) -> dict[str, np.ndarray]:
    """Restore target for the packed arrays of ``like``: NumPy arrays of the right shapes and dtypes."""
    shapes = jax.eval_shape(lambda s: pack(s, sampler), like)
    return {name: np.zeros(s.shape, s.dtype) for name, s in shapes.items()}


def _to_host(x: jax.Array) -> np.ndarray | jax.Array:
    """A fully replicated array as one NumPy copy (its first local shard); anything else unchanged."""
    return np.asarray(x.addressable_data(0)) if x.is_fully_replicated else x


_IO_STATUS = ('RESOURCE_EXHAUSTED', 'PERMISSION_DENIED', 'os_error_code')


def io_failure(e: BaseException) -> str | None:
    """A short reason if ``e`` says the file system refused a write (full disk, no permission, read-only),
    else None. Orbax's array writes go through TensorStore, which reports these as ``ValueError`` with a
    status code and ``[os_error_code='28']`` rather than as ``OSError``."""
    if isinstance(e, OSError):
        return f'{e.strerror or e} (errno {e.errno})' if e.errno else _one_line(e)
    text = str(e)
    if not any(code in text for code in _IO_STATUS):
        return None
    found = re.search(r"os_error_code='(\d+)'", text)
    return f'{os.strerror(int(found.group(1)))} (errno {found.group(1)})' if found else _one_line(e)


def _lower_priority() -> None:
    """Give the calling thread (and the threads it starts) the lowest CPU priority, on Linux.

    Saving can wait a few milliseconds, a train step cannot: when the writer shared the cores with the
    step at equal priority, a toy-ring save cost ~35 ms of wall time; at nice 19 it costs ~15 ms
    (``benchmarks/checkpoint_overhead.py``). Linux keeps a nice value per thread, so the thread id makes
    this apply to the writer alone; elsewhere (where it would apply to the whole process) nothing changes.
    """
    if sys.platform.startswith('linux'):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except OSError:
            pass


def _checkpointer() -> ocp.Checkpointer:
    """Orbax's synchronous checkpointer of one item, ``state`` (:class:`Checkpoints` runs it on its own
    background thread). Not a CheckpointManager: its bookkeeping costs ~8 ms of CPU per save, a fifth of
    the whole, for listing and pruning steps that take a few lines here."""
    return ocp.Checkpointer(ocp.CompositeCheckpointHandler('state'))


def _steps(directory: Path) -> list[int]:
    """The finished checkpoint steps in ``directory`` (Orbax's own listing skips temporary ones)."""
    return sorted(ocp.utils.checkpoint_steps(directory)) if directory.is_dir() else []


def _read_meta(checkpointer: ocp.Checkpointer, path: Path, step: int) -> dict[str, Any]:
    old = 1 if (path / 'meta').is_dir() else None  # format 1 kept its metadata in a JSON item
    meta = None if old else checkpointer.metadata(path).custom_metadata
    if old is None and isinstance(meta, dict) and meta.get('format') in (1, 2):
        old = meta['format']
    if old:
        raise CheckpointError(
            f'checkpoint step {step} in {path.parent} is in checkpoint format {old} (the two-network state of '
            f'ganjax before games); this ganjax reads format {FORMAT} only: finish or sample that run with the '
            'ganjax version that wrote it, or train again in a new --workdir')
    if not isinstance(meta, dict) or meta.get('format') != FORMAT or meta.get('step') != step:
        raise ValueError(f'metadata of step {step} is incomplete: {str(meta)[:80]}')
    return meta


class Checkpoints:
    """The checkpoints of one run directory: periodic background saves and resuming.

    Use as a context manager (or call :meth:`close`): leaving it waits for the last background save to
    be written, so a process that exits right after still leaves it complete.
    """

    def __init__(self, workdir: str | Path, config: ml_collections.ConfigDict,
                 example_shape: tuple[int, ...], num_classes: int, sampler: str = 'G'):
        self.directory = Path(workdir).absolute() / CHECKPOINT_DIR
        self.every = int(config.checkpoint.every_steps)
        self.config = config
        self.example_shape = tuple(int(d) for d in example_shape)
        self.num_classes = int(num_classes)
        self.sampler = sampler
        self.keep = int(config.checkpoint.keep)
        self._pack = jax.jit(lambda s: pack(s, sampler))
        self._checkpointer = _checkpointer()
        self._writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix='ganjax-checkpoint',
                                                             initializer=_lower_priority)
        self._pending: concurrent.futures.Future | None = None  # the save in flight
        self._static_meta: dict[str, Any] | None = None
        if self.directory.is_dir() and jax.process_index() == 0:
            for tmp in ocp.utils.tmp_checkpoints(self.directory):  # left by a process killed mid-save
                shutil.rmtree(tmp.get(), ignore_errors=True)
        steps = _steps(self.directory)
        self._latest: int | None = steps[-1] if steps else None

    # -- saving -------------------------------------------------------------------------------------
    def due(self, step: int) -> bool:
        """Whether the periodic schedule (``checkpoint.every_steps``, 0 = never) saves at ``step``."""
        return self.every > 0 and step % self.every == 0

    def latest_step(self) -> int | None:
        """The newest step saved or being saved (None if none)."""
        return self._latest

    def save(self, step: int, state: PyTree, extra: dict[str, Any] | None = None) -> bool:
        """Start saving ``state`` (whose step must be ``step``) in the background; False if already saved.

        ``state`` is the logical, unreplicated state: a single-device or ``jax.sharding``-placed GANState
        (under ``pmap``, pass one replica). Returns once the arrays are packed and copied to host memory,
        so the caller may donate ``state``'s buffers to the next step straight away. Waits for the previous
        save first (normally long finished) and raises if it failed.
        """
        self.wait()  # at most one save in flight, so at most one host copy of the state waits to be written
        if self._latest is not None and step <= self._latest:
            return False
        packed = self._pack(state)  # dispatched; the metadata is built while it runs
        if self._static_meta is None:
            self._static_meta = {'format': FORMAT, 'config': config_to_json(self.config),
                                 'example_shape': list(self.example_shape), 'num_classes': self.num_classes,
                                 'sampler': self.sampler,
                                 'layout': state_layout(state)}
        meta = {**self._static_meta, 'step': int(step), 'data_step': int(step), **(extra or {})}
        packed = jax.tree.map(_to_host, packed)
        self._check_space(step, sum(int(a.nbytes) for a in jax.tree.leaves(packed)))
        self._pending = self._writer.submit(self._write, step, packed, meta)
        self._pending_step = step  # named in the error if this save fails
        self._latest = step
        return True

    def _check_space(self, step: int, nbytes: int) -> None:
        """Refuse a save that cannot fit before Orbax starts it (one process only: with several, Orbax's
        save is collective, and one refusing alone would leave the others waiting).

        Orbax can report a full disk itself, but its writer threads then sometimes print tracebacks of their
        own ('Event loop is closed', from callbacks that outlive the save) around our one line."""
        if jax.process_count() > 1:
            return
        place = self.directory
        while not place.exists():
            place = place.parent
        free = shutil.disk_usage(place).free
        if free < nbytes + _SAVE_OVERHEAD:
            raise self._write_failed(step, f'No space left on device ({free} bytes free, the checkpoint needs '
                                           f'about {nbytes + _SAVE_OVERHEAD})')

    def _write(self, step: int, packed: dict[str, Any], meta: dict[str, Any]) -> None:
        """On the writer thread: one atomic Orbax save, then the steps beyond ``checkpoint.keep`` pruned."""
        if jax.process_index() == 0:
            self.directory.mkdir(parents=True, exist_ok=True)
        with _quiet_orbax():  # a failed write is reported once, by wait(), not also by Orbax's threads' logs
            self._checkpointer.save(self.directory / str(step), custom_metadata=meta,
                                    args=ocp.args.Composite(state=ocp.args.StandardSave(packed)))
        if jax.process_index() == 0:
            for old in _steps(self.directory)[:-self.keep]:
                shutil.rmtree(self.directory / str(old), ignore_errors=True)

    def wait(self) -> None:
        """Block until every started save is on disk. A save that failed for want of space or permission
        raises :class:`CheckpointWriteError` (see :meth:`_write_failed`); anything else keeps its traceback."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            pending.result()
        except Exception as e:  # noqa: BLE001 -- sorted below: I/O failures are for people, the rest are bugs
            reason = io_failure(e)
            if reason is None:
                raise
            raise self._write_failed(self._pending_step, reason) from e

    def _write_failed(self, step: int, reason: str) -> CheckpointWriteError:
        """The error for a save of ``step`` that could not be written: removes its partial files (Orbax's
        temporary directory, never a finished step), so a full disk gets its space back, and names the
        newest complete checkpoint, which a re-run resumes from."""
        if jax.process_index() == 0 and self.directory.is_dir():
            for tmp in ocp.utils.tmp_checkpoints(self.directory):
                shutil.rmtree(tmp.get(), ignore_errors=True)
        steps = _steps(self.directory)
        self._latest = steps[-1] if steps else None
        newest = f'the newest complete checkpoint is step {steps[-1]}' if steps else 'there is no complete checkpoint'
        return CheckpointWriteError(f'saving checkpoint step {step} to {self.directory} failed: {reason}; '
                                    f'{newest}, and no older checkpoint was touched')

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._writer.shutdown(wait=True)

    def __enter__(self) -> 'Checkpoints':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- restoring ----------------------------------------------------------------------------------
    def check_compatible(self, meta: dict[str, Any], target: PyTree, step: int) -> None:
        """Raise :class:`CheckpointError` if the checkpoint cannot be this run's; warn on other changes."""
        where = f'checkpoint step {step} in {self.directory}'
        saved = _flatten(meta.get('config', {}))
        now = _flatten(config_to_json(self.config))
        model_diff = [k for k in sorted(set(saved) | set(now))  # model.dtype: same parameters, other arithmetic
                      if k.startswith(('model.', 'game.')) and k != 'model.dtype' and saved.get(k) != now.get(k)]
        if model_diff:
            shown = ', '.join(f'{k}: {saved.get(k)!r} -> {now.get(k)!r}' for k in model_diff[:3])
            raise CheckpointError(f'{where} was written by another model ({shown}); use a new --workdir '
                                  'or the saved settings')
        if (tuple(meta.get('example_shape', ())), meta.get('num_classes')) != (self.example_shape,
                                                                                self.num_classes):
            raise CheckpointError(
                f"{where} was written for data of shape {tuple(meta.get('example_shape', ()))} with "
                f"{meta.get('num_classes')} classes, this run has {self.example_shape} with "
                f'{self.num_classes}; use a new --workdir')
        layout = state_layout(target)
        if meta.get('layout') != layout:
            saved_layout = {p: (s, d) for p, s, d in meta.get('layout', [])}
            now_layout = {p: (s, d) for p, s, d in layout}
            bad = next((p for p in sorted(set(saved_layout) | set(now_layout))
                        if saved_layout.get(p) != now_layout.get(p)), '?')
            raise CheckpointError(f'{where} holds a differently shaped train state (at {bad}: saved '
                                  f'{saved_layout.get(bad)}, now {now_layout.get(bad)}); check '
                                  'game.name, train.optimizer, train.weight_clip and train.lr_schedule, '
                                  'or use a new --workdir')
        changed = [k for k in sorted(set(saved) | set(now))
                   if saved.get(k) != now.get(k) and not any(
                       k == f or (f.endswith('.') and k.startswith(f)) for f in _FREE_KEYS)]
        if (saved.get('train.num_steps') != now.get('train.num_steps')
                and now.get('train.lr_schedule') != 'constant'):
            changed.append('train.num_steps')
        if changed:
            shown = ', '.join(f'{k}: {saved.get(k)!r} -> {now.get(k)!r}' for k in changed[:4])
            _warn(f'resuming {where} with a changed config ({shown}); the run will differ from the one '
                  'that was saved')

    def _set_aside(self, step: int) -> Path:
        dest = self.directory / CORRUPT_DIR / str(step)
        if jax.process_index() == 0:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                shutil.rmtree(dest)
            shutil.move(str(self.directory / str(step)), str(dest))
        return dest

    def restore_latest(self, target: PyTree) -> Restored | None:
        """The newest readable checkpoint, restored with ``target``'s shapes, dtypes and shardings.

        ``target`` is a freshly created state of this run (placed as the run wants it: one device, or
        replicated over a mesh); the packed arrays are read to host memory, cut into ``target``'s leaves and
        placed like them, whatever device count the saving run had. Returns None when there is no
        checkpoint.
        """
        with _quiet_orbax():
            return self._restore_latest(target)

    def _restore_latest(self, target: PyTree) -> Restored | None:
        steps = _steps(self.directory)[::-1]
        skipped: list[tuple[int, str]] = []
        host_target = _host_target(target, self.sampler)
        for step in steps:
            try:
                meta = _read_meta(self._checkpointer, self.directory / str(step), step)
            except CheckpointError:
                raise
            except Exception as e:  # noqa: BLE001 -- any read failure means this step is unusable
                skipped.append((step, _one_line(e)))
                continue
            self.check_compatible(meta, target, step)  # a legitimate checkpoint of another run: stop
            try:
                packed = self._checkpointer.restore(self.directory / str(step), args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(host_target))).state
                state = unpack(packed, target, self.sampler)
                saved_step = int(state.step)
                if saved_step != step or meta.get('data_step') != step:
                    raise ValueError(f'state step {saved_step} / data step {meta.get("data_step")} != {step}')
            except CheckpointError:
                raise
            except Exception as e:  # noqa: BLE001
                skipped.append((step, _one_line(e)))
                continue
            for bad_step, why in skipped:
                dest = self._set_aside(bad_step)
                _warn(f'checkpoint step {bad_step} in {self.directory} is unreadable ({why}); moved it to '
                      f'{dest} and resumed from step {step}')
            self._latest = step
            return Restored(jax.device_put(state, jax.tree.map(lambda x: x.sharding, target)), step, meta)
        if skipped:
            raise CheckpointError(f'no readable checkpoint in {self.directory} (steps '
                                  f'{", ".join(str(s) for s, _ in skipped)}; newest: {skipped[0][1]})')
        return None


def load_generator(workdir: str | Path, step: int | None = None,
                   ema: bool = True) -> tuple[Any, PyTree, PyTree, ml_collections.ConfigDict]:
    """``(generator, params, collections, config)`` from a run directory, for sampling in a notebook.

    ``generator`` is the network the run's game samples with (``'G'`` for the adversarial game). Reads
    only its parameters (the EMA ones unless ``ema=False``; the raw ones for a network without an EMA)
    and its collections from the newest readable checkpoint (or ``step``), never the other networks or
    the optimiser states. With the EMA, batch statistics are re-estimated for it as the train loop's
    samples do (:func:`ganjax.games.standing_collections`). Sample with ``generator.apply({'params': params, **collections}, z, labels,
    train=False)`` where ``z`` has shape ``(n, config.model.latent_dim)`` for the adversarial game, and in
    general is what the run's game draws: ``ganjax.games.get_game(config, spec).draw_latents(key, n)``.
    """
    directory = Path(workdir).absolute() / CHECKPOINT_DIR
    if not directory.is_dir():
        raise CheckpointError(f'no checkpoints in {workdir} (expected {directory})')
    with _quiet_orbax():
        return _load_generator(directory, step, ema)


def _load_generator(directory: Path, step: int | None, ema: bool):
    from ganjax import games

    checkpointer = _checkpointer()
    saved = _steps(directory)
    if step is not None and step not in saved:
        raise CheckpointError(f'no checkpoint step {step} in {directory}; there are {saved}')
    errors = []
    for s in saved[::-1] if step is None else [step]:
        try:
            meta = _read_meta(checkpointer, directory / str(s), s)
            config = ml_collections.ConfigDict(meta['config'])
            spec = games.DataSpec(tuple(meta['example_shape']), meta['num_classes'])
            name = meta['sampler']
            game = games.get_game(config, spec)
            network = game.networks[name]
            shapes = jax.eval_shape(lambda: network.module.init(jax.random.PRNGKey(0), *network.init_args,
                                                                train=False))
            params, cols = split_variables(shapes)
            # the sampler's entries in GANState's order (the packing's); the other fields left empty
            like = GANState(step=None, params={name: params}, collections={name: cols}, opt_states=None,
                            ema={name: params} if network.ema else {}, extra=None, rng=None)
            restored = unpack(ocp.PyTreeCheckpointer().restore(
                directory / str(s) / 'state', args=ocp.args.PyTreeRestore(
                    item=_host_target(like, name), partial_restore=True)), like, name)
            restored = jax.device_put(restored, jax.devices()[0])
            params, collections = restored.params[name], restored.collections[name]
            if ema and network.ema:  # the EMA, with batch statistics of its own (standing statistics)
                params = restored.ema[name]
                collections = games.standing_collections(game, params, collections, meta['num_classes'])
        except CheckpointError:
            raise
        except Exception as e:  # noqa: BLE001
            errors.append(f'step {s}: {_one_line(e)}')
            continue
        if errors:
            _warn(f'skipped unreadable checkpoints in {directory} ({"; ".join(errors)})')
        return network.module, params, collections, config
    raise CheckpointError(f'no readable checkpoint in {directory} ({"; ".join(errors) or "none saved"})')


def saved_steps(workdir: str | Path) -> list[int]:
    """The steps of the finished checkpoints in a run directory, oldest first ([] if none): what a tool
    offers as ``--step``, and the newest of which it names in its outputs."""
    return _steps(Path(workdir).absolute() / CHECKPOINT_DIR)


def saved_data(workdir: str | Path, step: int) -> tuple[tuple[int, ...], int]:
    """``(example_shape, num_classes)`` of the data checkpoint ``step`` in ``workdir`` was trained on: with
    its config, what rebuilds the run's game (``ganjax.games.get_game``)."""
    path = Path(workdir).absolute() / CHECKPOINT_DIR / str(step)
    with _quiet_orbax():
        meta = _read_meta(_checkpointer(), path, step)
    return tuple(meta['example_shape']), int(meta['num_classes'])
