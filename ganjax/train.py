"""The one impure loop: data in, compiled steps, logs, samples and the run summary out.

``train_and_evaluate(config, workdir)`` checks the whole config and builds every piece before it writes
anything, so a bad config leaves the workdir untouched. It then runs ``train.num_steps`` generator steps,
printing progress (losses, steps/s, ETA) every ``train.log_every`` steps and appending the same metrics to
``workdir/metrics.jsonl``, and ends by writing

* ``summary.json``: ``{"step": N, "metrics": {...}}`` (toy data: ``modes``, ``hq_fraction``, ``reverse_kl``);
* ``samples.npz``: key ``samples``, the EMA generator's samples on a fixed evaluation latent batch (2-D
  points, or uint8 NHWC images);
* ``samples.png``: a scatter plot over the data (2-D) or an image grid;
* ``tensorboard/``: the same scalars, the config and the final metrics (:mod:`ganjax.summary`), with
  ``samples_<step>.png`` pictures every ``eval.image_every_steps``; ``profile/`` with ``profile_steps``
  (:mod:`ganjax.tracing`).

Failure safety (see :mod:`ganjax.checkpoint` and :mod:`ganjax.failsafe`): with ``checkpoint.every_steps``
> 0 the whole state is saved every that many steps and at the end; a workdir holding checkpoints is resumed
from the newest readable one, so re-running the same command after a crash continues the same run (same
keys, same data). SIGTERM/SIGINT save a checkpoint at the next step boundary (with several processes, at
the step they all agree on) and return normally. A
non-finite loss or gradient stops the run with :class:`~ganjax.errors.NonFiniteError`
(``train.on_nonfinite='stop'``) before any later state is saved, or is skipped and counted (``'skip'``).
Step ``t`` is the ``t``-th generator update; it consumes the data of source step ``t - 1``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ganjax import checkpoint as checkpoint_lib
from ganjax import config as config_lib
from ganjax import data, failsafe, games, parallel, summary, tracing, viz
from ganjax.errors import CheckpointError, OutputError
from ganjax.metrics.toy import mode_metrics
from ganjax.state import GANState

_EVAL_KEY = 0x5EED  # folded into the seed for the fixed evaluation latents


def _format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


class Progress:
    """Prints ``step, losses, steps/s, ETA`` lines and writes the same numbers to metrics.jsonl and
    TensorBoard."""

    def __init__(self, total: int, start: int, path: Path, writer: summary.Writer):
        self.total, self.start = total, start
        self.path = path
        self.writer = writer
        self.t0 = self.t_last = time.perf_counter()
        self.s_last = start

    def log(self, step: int, metrics: dict[str, float]) -> None:
        now = time.perf_counter()
        rate = (step - self.s_last) / max(now - self.t_last, 1e-9)
        overall = (step - self.start) / max(now - self.t0, 1e-9)
        eta = (self.total - step) / max(overall, 1e-9)
        self.t_last, self.s_last = now, step
        shown = '  '.join(f'{k} {v:.4f}' for k, v in sorted(metrics.items()))
        print(f'step {step}/{self.total}  {shown}  {rate:.1f} steps/s  ETA {_format_duration(eta)}', flush=True)
        with self.path.open('a') as f:
            f.write(json.dumps({'step': step, **metrics, 'steps_per_s': rate}) + '\n')
        self.writer.write_scalars(step, {**metrics, 'steps_per_s': rate})


def eval_inputs(config: ml_collections.ConfigDict, game: games.Game,
                num_classes: int) -> tuple[jax.Array, jax.Array | None]:
    """The fixed evaluation latents of the game's sampler (and class labels, cycling through classes)."""
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), _EVAL_KEY)
    z = game.draw_latents(key, config.eval.num_samples)
    labels = jnp.arange(config.eval.num_samples, dtype=jnp.int32) % num_classes if num_classes else None
    return z, labels


def sampling_variables(game: games.Game, state: GANState, num_classes: int = 0):
    """``(params, collections)`` the game's sampler generates with: its EMA if it keeps one, with batch
    statistics re-estimated for the EMA (:func:`ganjax.games.standing_collections`); ``game`` is built
    without an ``axis_name``."""
    name = game.sampler
    if name not in state.ema:
        return state.params[name], state.collections[name]
    return state.ema[name], games.standing_collections(game, state.ema[name], state.collections[name], num_classes)


def generate(sample_fn, variables: tuple, z: jax.Array, labels: jax.Array | None, chunk: int = 500) -> np.ndarray:
    """Samples for all of ``z`` with ``variables = (params, collections)``, in chunks so large
    evaluations fit in memory."""
    out = []
    for i in range(0, z.shape[0], chunk):
        lab = None if labels is None else labels[i:i + chunk]
        out.append(np.asarray(sample_fn(*variables, z[i:i + chunk], lab)))
    return np.concatenate(out)


class FIDMonitor:
    """FID of generated samples against statistics of the training data (``eval.fid_every_steps``).

    The Inception weights load when the monitor is built, before anything is written, so missing weights
    fail the run at once. The reference statistics of ``eval.num_samples`` training images are computed
    once and cached in ``workdir/fid_reference_stats.npz`` (pytorch-fid's ``mu``/``sigma`` format).
    """

    def __init__(self, config: ml_collections.ConfigDict):
        from ganjax.metrics import fid as fid_lib

        self.fid_lib = fid_lib
        self.extractor = fid_lib.InceptionFeatures(config.eval.inception_weights or None)
        self.num_ref = config.eval.num_samples
        self.reference: tuple[np.ndarray, np.ndarray] | None = None

    def prepare(self, source, workdir: Path) -> None:
        path = workdir / 'fid_reference_stats.npz'
        if path.exists():
            self.reference = self.fid_lib.load_stats(path)
            return
        chunk = min(self.num_ref, 500)
        batches = source.iterate(chunk, start_step=0)
        images = (next(batches)['x'] for _ in range(-(-self.num_ref // chunk)))
        mu, sigma = self.extractor.stats(images)
        self.fid_lib.save_stats(path, mu, sigma)
        self.reference = (mu, sigma)

    def __call__(self, samples: np.ndarray) -> float:
        mu, sigma = self.extractor.stats([samples])
        return float(self.fid_lib.frechet_distance(mu, sigma, *self.reference))


def evaluate(source, samples: np.ndarray, fid: FIDMonitor | None = None) -> dict[str, float]:
    if not source.is_image:
        return mode_metrics(samples, source.modes, source.std)
    return {'fid': fid(samples)} if fid is not None else {}


def write_outputs(workdir: Path, source, step: int, samples: np.ndarray, metrics: dict[str, Any]) -> None:
    if source.is_image:
        images = viz.to_uint8(samples)
        np.savez_compressed(workdir / 'samples.npz', samples=images)
        viz.save_image_grid(workdir / 'samples.png', images)
    else:
        np.savez_compressed(workdir / 'samples.npz', samples=samples)
        real = next(source.iterate(len(samples), start_step=0))['x']
        viz.save_scatter(workdir / 'samples.png', samples, real, source.modes)
    (workdir / 'summary.json').write_text(json.dumps({'step': step, 'metrics': metrics}, indent=2) + '\n')


def trim_log(path: Path, step: int) -> None:
    """Drop log lines past ``step`` (and a torn last line) so a resumed run does not log steps twice."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            if json.loads(line)['step'] <= step:
                kept.append(line)
        except (ValueError, KeyError, TypeError):
            continue
    path.write_text(''.join(l + '\n' for l in kept))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path, *,
                       source: Any = None) -> dict[str, Any]:
    """Train as ``config`` says, writing everything under ``workdir``; returns the summary dict.

    ``source`` replaces the data source ``config.data`` names (same interface; tests use it to inject
    faults). A preempted run returns ``{'step': s, 'metrics': {}, 'preempted': True}`` after saving.
    """
    config_lib.validate(config)
    if config.parallel.multi_host:
        parallel.initialize_distributed()
    par = parallel.setup(config)
    source = source if source is not None else data.get_source(config.data, config.seed)
    spec = games.DataSpec(tuple(source.example_shape), source.num_classes)
    game, _, state, step = games.setup(config, spec, axis_name=par.axis_name)
    train_step = par.compile(step)
    sample_game = games.get_game(config, spec) if par.axis_name else game  # no cross-replica layers
    sample_fn = games.make_sample_fn(sample_game)
    z_eval, labels_eval = eval_inputs(config, game, source.num_classes)
    variables = lambda s: sampling_variables(sample_game, par.local_copy(s), source.num_classes)
    sample = lambda s: generate(sample_fn, variables(s), z_eval, labels_eval)

    workdir = Path(workdir)
    main_process = par.is_main_process
    wants_fid = source.is_image and config.eval.fid_every_steps > 0
    fid = FIDMonitor(config) if wants_fid and main_process else None
    pictures = summary.ProgressPictures(config.eval.image_every_steps, source, z_eval, labels_eval)
    trace = tracing.StepTrace(config.profile_steps, workdir / tracing.PROFILE_DIR, enabled=main_process)
    board: summary.Writer = summary.NullWriter()
    if main_process:
        try:
            workdir.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # /proc/x, a read-only mount, a file in the way: the user's to fix
            raise OutputError(f'cannot create --workdir {workdir}: {e.strerror or e}') from None
        if fid is not None:
            fid.prepare(source, workdir)
    # every process takes part in saving and restoring (Orbax coordinates who writes what)
    ckpt = checkpoint_lib.Checkpoints(workdir, config, source.example_shape, source.num_classes,
                                      sampler=game.sampler)
    with ckpt, failsafe.Preemption() as preemption, trace:
        state, watch = resume(ckpt, state, config, workdir, main_process)  # the logical, unplaced state
        total = config.train.num_steps
        start = int(state.step)
        if main_process:
            board = summary.open_run_writer(workdir, config, start)
        state = par.place_state(state)
        batches = source.iterate(config.train.batch_size * game.batch_splits, start_step=start,
                                 process_index=jax.process_index(), process_count=jax.process_count())
        progress = Progress(total, start, workdir / 'metrics.jsonl', board)
        if main_process:
            print(f'training {config.model.name} ({config.game.name}) on {source.name} for {total} steps (batch '
                  f'{config.train.batch_size}, {jax.device_count()} {jax.default_backend()} device(s), '
                  f'{par.mode})', flush=True)
        # checkpoints hold the logical state: under pmap one replica of it, otherwise the (global) state
        saveable = (lambda s: par.local_copy(s)) if par.mode == 'pmap' else (lambda s: s)

        for step in range(start + 1, total + 1):
            state, metrics = train_step(state, par.place_batch(next(batches)))
            trace.after_step(step, (state, metrics))
            if par.sync_every_step:
                jax.block_until_ready(metrics)
            watch.update(metrics, step)
            if step % config.train.log_every == 0 or step == total:
                skipped = watch.check(ckpt.latest_step())
                if main_process:
                    progress.log(step, {**{k: float(v) for k, v in
                                           jax.device_get(par.local_copy(metrics)).items()},
                                        'nonfinite_total': float(skipped)})
            if fid is not None and step % config.eval.fid_every_steps == 0 and step != total:
                value = fid(sample(state))
                print(f'step {step}/{total}  fid {value:.3f}', flush=True)
                with (workdir / 'metrics.jsonl').open('a') as f:
                    f.write(json.dumps({'step': step, 'fid': value}) + '\n')
                board.write_scalars(step, {'fid': value})
            if main_process and pictures.due(step):
                pictures.write(step, generate(sample_fn, variables(state), *pictures.inputs), workdir, board)
            stop = preemption.should_stop(step)
            if stop or ckpt.due(step):
                save_checkpoint(ckpt, watch, step, saveable(state))
            if stop:
                if main_process:
                    print(f'stopped at step {step} by {preemption.requested}; checkpoint saved in '
                          f'{ckpt.directory}', flush=True)
                board.close()
                return {'step': step, 'metrics': {}, 'preempted': True}
        if ckpt.every > 0 or ckpt.latest_step() is not None:  # the final state, for exports and re-runs
            save_checkpoint(ckpt, watch, total, saveable(state))
        watch.check(ckpt.latest_step())

    samples = sample(state)
    results = evaluate(source, samples, fid)
    if main_process:
        write_outputs(workdir, source, total, samples, results)
        board.write_scalars(total, results)
        board.close()
        if results:
            print('final ' + '  '.join(f'{k} {v:.4f}' for k, v in results.items()), flush=True)
    return {'step': total, 'metrics': results}


def resume(ckpt: checkpoint_lib.Checkpoints, state: GANState, config: ml_collections.ConfigDict,
           workdir: Path, main_process: bool = True) -> tuple[GANState, failsafe.NonFiniteWatch]:
    """``state`` replaced by the newest readable checkpoint's, if any, and a fresh non-finite watch."""
    restored = ckpt.restore_latest(state)
    total_before = 0
    if restored is not None and restored.step > config.train.num_steps:
        raise CheckpointError(
            f'{ckpt.directory} holds checkpoint step {restored.step}, past train.num_steps='
            f'{config.train.num_steps}; raise train.num_steps or use a new --workdir')
    if restored is not None:
        state, total_before = restored.state, int(restored.meta.get('nonfinite_total', 0))
        if main_process:
            print(f'resuming from checkpoint step {restored.step} in {ckpt.directory}', flush=True)
            trim_log(workdir / 'metrics.jsonl', restored.step)
    elif main_process and (workdir / 'metrics.jsonl').exists():
        trim_log(workdir / 'metrics.jsonl', 0)  # a run that died before its first checkpoint
    return state, failsafe.NonFiniteWatch(config.train.on_nonfinite, total_before)


def save_checkpoint(ckpt: checkpoint_lib.Checkpoints, watch: failsafe.NonFiniteWatch, step: int,
                    state: GANState) -> None:
    """Save ``state`` at ``step``, unless (in 'stop' mode) a step up to here was non-finite: then raise."""
    skipped = watch.check(ckpt.latest_step())
    ckpt.save(step, state, {'nonfinite_total': skipped})
