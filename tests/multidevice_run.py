"""Runs one config in 'single', 'sharded' and 'pmap' modes in one process and saves the results.

Executed by tests/test_parallel.py in a subprocess with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``
(the device count is fixed when JAX starts, and the rest of the suite must keep seeing one device).
Usage: ``python tests/multidevice_run.py OUT.npz MODEL STEPS [key=value ...]``.
"""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from ganjax import models, parallel  # noqa: E402
from ganjax.data.toy import ToySource  # noqa: E402
from ganjax.state import create_state  # noqa: E402
from ganjax.step import make_sample_fn, make_train_step  # noqa: E402
from ganjax.train import eval_inputs, generate  # noqa: E402
from tests.conftest import tiny_config  # noqa: E402


class RandomImages:
    """Deterministic 32x32x3 'images' in [-1, 1]: enough to exercise the conv models' maths."""

    name, example_shape, num_classes, is_image = 'random', (32, 32, 3), 0, True

    def iterate(self, n, start_step=0, process_index=0, process_count=1):
        step = start_step
        while True:
            rng = np.random.default_rng([7, step])
            yield {'x': np.tanh(rng.standard_normal((n, *self.example_shape))).astype(np.float32)}
            step += 1


def run(config, mode):
    config.parallel.mode = mode
    par = parallel.setup(config)
    source = ToySource(config.data, config.seed) if config.model.name == 'mlp' else RandomImages()
    g, d = models.get_models(config.model, source.example_shape, bn_axis_name=par.axis_name)
    step = par.compile(make_train_step(config, g, d, axis_name=par.axis_name))
    state = par.place_state(create_state(config, g, d, source.example_shape))
    batches = source.iterate(config.train.batch_size * config.train.d_steps)
    for _ in range(config.train.num_steps):
        state, _ = step(state, par.place_batch(next(batches)))
    state = jax.device_get(par.local_copy(state))
    plain_g = models.get_models(config.model, source.example_shape)[0]
    samples = generate(make_sample_fn(plain_g), state, *eval_inputs(config, 0))
    flat = {f'{mode}/{jax.tree_util.keystr(k)}': np.asarray(v)
            for k, v in jax.tree_util.tree_leaves_with_path(
                {'g': state.g_params, 'd': state.d_params, 'gc': state.g_collections})}
    return {**flat, f'{mode}/samples': samples}


def main():
    out, model, steps, *pairs = sys.argv[1:]
    results = {}
    for mode in ('single', 'sharded', 'pmap'):
        overrides = {'model.name': model, 'train.num_steps': int(steps), 'train.batch_size': 64,
                     'model.width': 8, 'model.latent_dim': 8 if model != 'mlp' else 2}
        for pair in pairs:
            key, value = pair.split('=')
            try:
                overrides[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                overrides[key] = value
        results.update(run(tiny_config(**overrides), mode))
    np.savez(out, **results)
    print('devices', jax.device_count())


if __name__ == '__main__':
    main()
