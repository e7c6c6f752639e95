"""Milliseconds per iteration of whole recipes (say, the CIFAR-10 SNGAN and BigGAN), and the fraction of
the machine's matmul peak they reach.

Each recipe's step is built as the train loop builds it (``ganjax.games.setup``) and fed random data of
the recipe's shape (labels too, for conditional recipes); one iteration is one call of the step (its
critic and generator updates). Achieved GFLOP/s uses XLA's cost analysis of the step lowered with its critic loop unrolled, and is
divided by the GFLOP/s of a large matmul measured in the same run (float32 on CPU; bfloat16 inputs on a
GPU, the precision its peak is quoted in).

    PYTHONPATH=. python benchmarks/recipe_speed.py sngan_cifar biggan_cifar [--iters 5 --batch 64]
    PYTHONPATH=. python benchmarks/recipe_speed.py stacked_mnist stacked_mnist:stabilise.unrolled_steps=5

A recipe may carry config overrides after a colon (``NAME:KEY=VALUE[,KEY=VALUE...]``, values read as Python
literals), to time an option against the recipe it sits on.

The last line printed is JSON: one entry per recipe with ms, gflops_per_iter, peak_fraction, compile_s.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import statistics
import time

import jax
import jax.numpy as jnp

from ganjax import games

SHAPES = {'cifar10': (32, 32, 3), 'mnist': (28, 28, 1), 'fashion_mnist': (28, 28, 1), 'stacked_mnist': (28, 28, 3)}


def matmul_gflops(n: int = 4096) -> float:
    dtype = jnp.float32 if jax.default_backend() == 'cpu' else jnp.bfloat16
    n = 2048 if jax.default_backend() == 'cpu' else n
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), dtype)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    times = []
    for _ in range(5):
        t = time.perf_counter()
        f(a).block_until_ready()
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times) / 1e9


def recipe_config(recipe: str):
    """The config of ``NAME`` or ``NAME:KEY=VALUE,...`` (each value a Python literal, else a string)."""
    name, _, overrides = recipe.partition(':')
    config = importlib.import_module(f'experiments.{name}').get_config()
    for item in filter(None, overrides.split(',')):
        key, value = item.split('=', 1)
        *parents, leaf = key.split('.')
        node = config
        for part in parents:
            node = node[part]
        try:
            node[leaf] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            node[leaf] = value
    return config


def measure(recipe: str, iters: int, batch: int) -> dict:
    config = recipe_config(recipe)
    config.train.batch_size = batch
    shape = SHAPES[config.data.name]
    if config.data.image_size:
        shape = (config.data.image_size, config.data.image_size, shape[2])
    classes = 10 if config.data.conditional else 0
    game, _, state, step = games.setup(config, games.DataSpec(shape, classes))
    n = batch * game.batch_splits
    data = {'x': jax.random.uniform(jax.random.PRNGKey(1), (n, *shape), minval=-1, maxval=1)}
    if classes:
        data['label'] = jnp.arange(n, dtype=jnp.int32) % classes
    t = time.perf_counter()
    compiled = jax.jit(step, donate_argnums=0).lower(state, data).compile()
    compile_s = time.perf_counter() - t
    # FLOPs are counted on the lowered, unrolled step: after compilation a GPU's convolutions are library
    # calls that XLA's cost analysis does not count, and a scanned critic loop is counted once, not per step
    with config.unlocked():
        config.train.critic_loop = 'unroll'
    cost = jax.jit(games.setup(config, games.DataSpec(shape, classes))[3]).lower(state, data).cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    state, metrics = compiled(state, data)
    jax.block_until_ready(metrics)
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        state, metrics = compiled(state, data)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - t)
    ms = 1e3 * statistics.median(times)
    return {'ms': round(ms, 1), 'gflops_per_iter': round(float(cost['flops']) / 1e9, 2), 'compile_s': round(compile_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('recipes', nargs='+')
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--batch', type=int, default=64)
    args = parser.parse_args()
    peak = matmul_gflops()
    print(f'jax {jax.__version__} on {jax.devices()[0].device_kind}; matmul peak {peak:.0f} GFLOP/s', flush=True)
    results = {}
    for recipe in args.recipes:
        r = measure(recipe, args.iters, args.batch)
        r['peak_fraction'] = round(r['gflops_per_iter'] / (r['ms'] / 1e3) / peak, 3)
        results[recipe] = r
        print(f"{recipe}: {r['ms']} ms/iter, {r['gflops_per_iter']} GFLOP/iter, {100 * r['peak_fraction']:.1f}% of "
              f"peak, compile {r['compile_s']} s", flush=True)
    print(json.dumps({'peak_gflops': round(peak), **results}))


if __name__ == '__main__':
    main()
