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

from ganjax import games, parallel  # noqa: E402
from ganjax.data.toy import ToySource  # noqa: E402
from ganjax.train import eval_inputs, generate, sampling_variables  # noqa: E402
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
    spec = games.DataSpec(source.example_shape)
    game, _, state, step = games.setup(config, spec, axis_name=par.axis_name)
    step = par.compile(step)
    state = par.place_state(state)
    batches = source.iterate(config.train.batch_size * game.batch_splits)
    for _ in range(config.train.num_steps):
        state, _ = step(state, par.place_batch(next(batches)))
    state = jax.device_get(par.local_copy(state))
    plain = games.get_game(config, spec)
    samples = generate(games.make_sample_fn(plain), sampling_variables(plain, state), *eval_inputs(config, plain, 0))
    # every network's parameters and collections, the EMAs and the game's extra state
    flat = {f'{mode}/{jax.tree_util.keystr(k)}': np.asarray(v)
            for k, v in jax.tree_util.tree_leaves_with_path(
                {'p': state.params, 'c': state.collections, 'e': state.ema, 'x': state.extra})}
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
