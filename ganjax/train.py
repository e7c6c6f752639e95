"""The one impure loop: data in, compiled steps, logs, samples and the run summary out.

``train_and_evaluate(config, workdir)`` checks the whole config and builds every piece before it writes
anything, so a bad config leaves the workdir untouched. It then runs ``train.num_steps`` generator steps,
printing progress (losses, steps/s, ETA) every ``train.log_every`` steps and appending the same metrics to
``workdir/metrics.jsonl``, and ends by writing

* ``summary.json``: ``{"step": N, "metrics": {...}}`` (toy data: ``modes``, ``hq_fraction``, ``reverse_kl``);
* ``samples.npz``: key ``samples``, the EMA generator's samples on a fixed evaluation latent batch (2-D
  points, or uint8 NHWC images);
* ``samples.png``: a scatter plot over the data (2-D) or an image grid.
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

from ganjax import config as config_lib
from ganjax import data, models, parallel, viz
from ganjax.metrics.toy import mode_metrics
from ganjax.state import GANState, create_state, sample_latent
from ganjax.step import make_sample_fn, make_train_step

_EVAL_KEY = 0x5EED  # folded into the seed for the fixed evaluation latents


def _format_duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


class Progress:
    """Prints ``step, losses, steps/s, ETA`` lines and writes the same numbers to metrics.jsonl."""

    def __init__(self, total: int, start: int, path: Path):
        self.total, self.start = total, start
        self.path = path
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


def eval_inputs(config: ml_collections.ConfigDict, num_classes: int) -> tuple[jax.Array, jax.Array | None]:
    """The fixed evaluation latents (and class labels, cycling through classes) of ``config``."""
    key = jax.random.fold_in(jax.random.PRNGKey(config.seed), _EVAL_KEY)
    z = sample_latent(key, (config.eval.num_samples, config.model.latent_dim), config.model.latent_dist)
    labels = jnp.arange(config.eval.num_samples, dtype=jnp.int32) % num_classes if num_classes else None
    return z, labels


def generate(sample_fn, state: GANState, z: jax.Array, labels: jax.Array | None,
             chunk: int = 500) -> np.ndarray:
    """EMA-generator samples for all of ``z``, in chunks so large evaluations fit in memory."""
    out = []
    for i in range(0, z.shape[0], chunk):
        lab = None if labels is None else labels[i:i + chunk]
        out.append(np.asarray(sample_fn(state.ema_params, state.g_collections, z[i:i + chunk], lab)))
    return np.concatenate(out)


def evaluate(source, samples: np.ndarray) -> dict[str, float]:
    if not source.is_image:
        return mode_metrics(samples, source.modes, source.std)
    return {}


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


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str | Path) -> dict[str, Any]:
    """Train as ``config`` says, writing everything under ``workdir``; returns the summary dict."""
    config_lib.validate(config)
    if config.parallel.multi_host:
        parallel.initialize_distributed()
    par = parallel.setup(config)
    source = data.get_source(config.data, config.seed)
    generator, discriminator = models.get_models(config.model, source.example_shape, source.num_classes,
                                                 bn_axis_name=par.axis_name)
    train_step = par.compile(make_train_step(config, generator, discriminator, axis_name=par.axis_name))
    state = create_state(config, generator, discriminator, source.example_shape, source.num_classes)
    sample_fn = make_sample_fn(models.get_models(config.model, source.example_shape, source.num_classes)[0])
    z_eval, labels_eval = eval_inputs(config, source.num_classes)

    workdir = Path(workdir)
    main_process = par.is_main_process
    if main_process:
        workdir.mkdir(parents=True, exist_ok=True)
    total = config.train.num_steps
    start = int(state.step)
    state = par.place_state(state)
    batches = source.iterate(config.train.batch_size * config.train.d_steps, start_step=start,
                             process_index=jax.process_index(), process_count=jax.process_count())
    progress = Progress(total, start, workdir / 'metrics.jsonl')
    if main_process:
        print(f'training {config.model.name} on {source.name} for {total} steps (batch '
              f'{config.train.batch_size}, {jax.device_count()} {jax.default_backend()} device(s), '
              f'{par.mode})', flush=True)

    for step in range(start + 1, total + 1):
        state, metrics = train_step(state, par.place_batch(next(batches)))
        if main_process and (step % config.train.log_every == 0 or step == total):
            progress.log(step, {k: float(v) for k, v in jax.device_get(par.local_copy(metrics)).items()})

    samples = generate(sample_fn, par.local_copy(state), z_eval, labels_eval)
    results = evaluate(source, samples)
    if main_process:
        write_outputs(workdir, source, total, samples, results)
        if results:
            print('final ' + '  '.join(f'{k} {v:.4f}' for k, v in results.items()), flush=True)
    return {'step': total, 'metrics': results}
