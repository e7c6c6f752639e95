"""Orbax checkpoints of a whole run, and loading a trained generator back for sampling.

A checkpoint is one Orbax step directory ``WORKDIR/checkpoints/<step>/`` with two items:

* ``state``: the whole :class:`~ganjax.state.GANState` (both networks and their collections, both optimiser
  states, the EMA, the step and the PRNG key), saved by Orbax's standard PyTree handler, so sharded and
  multi-host arrays are written by Orbax itself and can be restored onto another device layout;
* ``meta``: JSON with the config, the data position, the example shape, the state's layout (every leaf's
  path, shape and dtype) and the run's count of skipped non-finite updates.

Nothing else is needed to continue exactly: the step's PRNG key is ``fold_in(state.rng, state.step)`` and
every data source is a pure function of ``(seed, step)``, so the data position is the step itself (it is
stored separately anyway, and checked, so that a future stateful pipeline has a place to put its own).

Saving is asynchronous (Orbax copies the arrays to host memory, then writes in a background thread while
training goes on) and atomic (Orbax writes into a temporary directory and renames it when complete, so a
killed process never leaves a step directory that looks finished; leftovers are removed on the next start).

Restoring takes the newest checkpoint that reads back completely. A newer one that does not (truncated or
corrupt files) is reported in one line, moved to ``checkpoints/corrupt/<step>`` and skipped. A checkpoint
written by a config with another model, data shape or state layout raises :class:`CheckpointError`
instead of loading partially.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import jax
import ml_collections
import orbax.checkpoint as ocp

from ganjax.errors import CheckpointError

PyTree = Any

FORMAT = 1
CHECKPOINT_DIR = 'checkpoints'
CORRUPT_DIR = 'corrupt'

# Config keys that may change between a run and its resumption without changing what is computed (or whose
# change is the point of resuming, like a longer ``train.num_steps``). Entries ending in '.' are sections.
_FREE_KEYS = ('train.num_steps', 'train.log_every', 'train.on_nonfinite', 'eval.', 'checkpoint.',
              'parallel.', 'data.prefetch', 'data.data_dir', 'data.path', 'data.download')


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


def _abstract(tree: PyTree) -> PyTree:
    """Shapes, dtypes and shardings of ``tree``'s arrays: the restore target, placed as ``tree`` is."""
    def one(x):
        sharding = getattr(x, 'sharding', None)
        return jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding)
    return jax.tree.map(one, tree)


def _open_manager(directory: Path, keep: int | None, read_only: bool = False) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep, create=not read_only, read_only=read_only, enable_async_checkpointing=True,
        cleanup_tmp_directories=not read_only)
    with _quiet_orbax():  # it reads every step's metadata; unreadable ones are reported on restore
        return ocp.CheckpointManager(directory, options=options, item_names=('state', 'meta'))


def _read_meta(manager: ocp.CheckpointManager, step: int) -> dict[str, Any]:
    meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore())).meta
    if not isinstance(meta, dict) or meta.get('format') != FORMAT or meta.get('step') != step:
        raise ValueError(f'metadata of step {step} is incomplete or from another format: {str(meta)[:80]}')
    return meta


class Checkpoints:
    """The checkpoints of one run directory: periodic asynchronous saves and resuming.

    Use as a context manager (or call :meth:`close`): leaving it waits for the last asynchronous save to
    be written, so a process that exits right after still leaves it complete.
    """

    def __init__(self, workdir: str | Path, config: ml_collections.ConfigDict,
                 example_shape: tuple[int, ...], num_classes: int):
        self.directory = Path(workdir).absolute() / CHECKPOINT_DIR
        self.every = int(config.checkpoint.every_steps)
        self.config = config
        self.example_shape = tuple(int(d) for d in example_shape)
        self.num_classes = int(num_classes)
        self.keep = int(config.checkpoint.keep)
        # Opened lazily when checkpointing is off, so that such a run leaves no empty directory behind.
        self._opened: ocp.CheckpointManager | None = None
        if self.every > 0 or self.directory.is_dir():
            self._opened = _open_manager(self.directory, self.keep)

    @property
    def _manager(self) -> ocp.CheckpointManager:
        if self._opened is None:
            self._opened = _open_manager(self.directory, self.keep)
        return self._opened

    # -- saving -------------------------------------------------------------------------------------
    def due(self, step: int) -> bool:
        """Whether the periodic schedule (``checkpoint.every_steps``, 0 = never) saves at ``step``."""
        return self.every > 0 and step % self.every == 0

    def latest_step(self) -> int | None:
        return None if self._opened is None else self._opened.latest_step()

    def save(self, step: int, state: PyTree, extra: dict[str, Any] | None = None) -> bool:
        """Start saving ``state`` (whose step must be ``step``) asynchronously; False if already saved.

        ``state`` is the logical, unreplicated state: a single-device or ``jax.sharding``-placed GANState
        (under ``pmap``, pass one replica). Returns once the arrays are copied off the devices, so the
        caller may donate ``state``'s buffers to the next step straight away.
        """
        latest = self._manager.latest_step()
        if latest is not None and step <= latest:
            return False
        meta = {'format': FORMAT, 'step': int(step), 'data_step': int(step),
                'config': config_to_json(self.config), 'example_shape': list(self.example_shape),
                'num_classes': self.num_classes, 'layout': state_layout(state), **(extra or {})}
        return self._manager.save(step, force=True, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))

    def wait(self) -> None:
        """Block until every started save is on disk (raises if one failed)."""
        if self._opened is not None:
            self._opened.wait_until_finished()

    def close(self) -> None:
        if self._opened is not None:
            self._opened.wait_until_finished()
            self._opened.close()
            self._opened = None

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
        model_diff = [k for k in sorted(set(saved) | set(now))
                      if k.startswith('model.') and saved.get(k) != now.get(k)]
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
                                  'train.optimizer, train.weight_clip and train.lr_schedule, or use a '
                                  'new --workdir')
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
        replicated/sharded over a mesh); Orbax reads every array straight into that placement, whatever
        device count the saving run had. Returns None when there is no checkpoint.
        """
        if self._opened is None:
            return None
        with _quiet_orbax():
            return self._restore_latest(target)

    def _restore_latest(self, target: PyTree) -> Restored | None:
        self._manager.reload()
        steps = sorted(self._manager.all_steps(), reverse=True)
        skipped: list[tuple[int, str]] = []
        abstract = _abstract(target)
        for step in steps:
            try:
                meta = _read_meta(self._manager, step)
            except Exception as e:  # noqa: BLE001 -- any read failure means this step is unusable
                skipped.append((step, _one_line(e)))
                continue
            self.check_compatible(meta, target, step)  # a legitimate checkpoint of another run: stop
            try:
                state = self._manager.restore(step, args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(abstract))).state
                saved_step = int(jax.device_get(state.step))
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
            if skipped:
                self._manager.reload()
            return Restored(state, step, meta)
        if skipped:
            raise CheckpointError(f'no readable checkpoint in {self.directory} (steps '
                                  f'{", ".join(str(s) for s, _ in skipped)}; newest: {skipped[0][1]})')
        return None


def load_generator(workdir: str | Path, step: int | None = None,
                   ema: bool = True) -> tuple[Any, PyTree, PyTree, ml_collections.ConfigDict]:
    """``(generator, params, collections, config)`` from a run directory, for sampling in a notebook.

    Reads only the generator's parameters (the EMA ones unless ``ema=False``) and its collections from the
    newest readable checkpoint (or ``step``), never the discriminator or optimiser states. Sample with
    ``generator.apply({'params': params, **collections}, z, labels, train=False)`` where ``z`` has shape
    ``(n, config.model.latent_dim)``.
    """
    directory = Path(workdir).absolute() / CHECKPOINT_DIR
    if not directory.is_dir():
        raise CheckpointError(f'no checkpoints in {workdir} (expected {directory})')
    with _quiet_orbax():
        return _load_generator(directory, step, ema)


def _load_generator(directory: Path, step: int | None, ema: bool):
    from ganjax import models

    manager = _open_manager(directory, None, read_only=True)
    steps = sorted(manager.all_steps(), reverse=True) if step is None else [step]
    if step is not None and step not in manager.all_steps():
        raise CheckpointError(f'no checkpoint step {step} in {directory}; there are {manager.all_steps()}')
    errors = []
    for s in steps:
        try:
            meta = _read_meta(manager, s)
            config = ml_collections.ConfigDict(meta['config'])
            generator = models.get_models(config.model, tuple(meta['example_shape']), meta['num_classes'])[0]
            z = jax.ShapeDtypeStruct((2, config.model.latent_dim), jax.numpy.float32)
            labels = jax.ShapeDtypeStruct((2,), jax.numpy.int32) if meta['num_classes'] else None
            shapes = jax.eval_shape(lambda z, y: generator.init(jax.random.PRNGKey(0), z, y, train=False),
                                    z, labels)
            shapes = dict(shapes)
            param_shapes = shapes.pop('params')
            device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
            place = lambda t: jax.tree.map(
                lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), t)
            item = {'ema_params' if ema else 'g_params': place(param_shapes)}
            if shapes:
                item['g_collections'] = place(shapes)
            restored = ocp.PyTreeCheckpointer().restore(
                directory / str(s) / 'state', args=ocp.args.PyTreeRestore(
                    item=item, restore_args=ocp.checkpoint_utils.construct_restore_args(item),
                    partial_restore=True))
            params = restored['ema_params' if ema else 'g_params']
            collections = restored.get('g_collections', {})
        except Exception as e:  # noqa: BLE001
            errors.append(f'step {s}: {_one_line(e)}')
            continue
        if errors:
            _warn(f'skipped unreadable checkpoints in {directory} ({"; ".join(errors)})')
        return generator, params, collections, config
    raise CheckpointError(f'no readable checkpoint in {directory} ({"; ".join(errors) or "none saved"})')
