"""Minibatch discrimination's similarity (``ganjax.models.stabilisers.minibatch_similarity``): its hand-written
gradient against autodiff of the broadcast formula it replaced, on the op and on whole train steps.

    PYTHONPATH=. python benchmarks/minibatch_similarity.py [--iters=20]

* op: forward + backward of ``sum(o ** 2)`` for ``m`` of shape ``(N, B, C)`` at the sizes the recipes use
  (the toy grid's 512 points x 16 kernels x 5, Stacked MNIST's 64 images x 100 x 5 and 32 x 8);
* step: one call of the train step of ``stacked_mnist_best`` and of the toy grid with the minibatch
  discrimination option of ``benchmarks/stabilisers.py`` (no penalty), built as the train loop builds
  them (``games.setup``), fed random data; the broadcast form is swapped in for the module's function.

Both forms are timed in the same run (median of ``--iters`` calls after a warm-up); the last line printed
is JSON with every figure in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ganjax import games  # noqa: E402
from ganjax.models import stabilisers as S  # noqa: E402

OPS = {'toy 512x16x5': (512, 16, 5), 'stacked 64x100x5': (64, 100, 5), 'stacked 64x32x8': (64, 32, 8)}


def broadcast(m: jax.Array) -> jax.Array:
    """The formula before the hand-written gradient: one ``(N, N, B, C)`` array, differentiated by autodiff."""
    return jnp.sum(jnp.exp(-jnp.sum(jnp.abs(m[:, None] - m[None, :]), axis=-1)), axis=1)


FORMS = {'broadcast (autodiff)': broadcast, 'hand VJP': S.minibatch_similarity}


def median_ms(fn, *args, iters: int) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def step_configs() -> dict:
    from experiments.stacked_mnist_best import get_config as stacked
    from experiments.toy_grid import get_config as toy

    t = toy()
    t.penalty.name = 'none'
    t.stabilise.minibatch_kernels, t.stabilise.minibatch_kernel_dim = 16, 5
    return {'stacked_mnist_best step': (stacked(), (28, 28, 3)), 'toy grid + minibatch 16x5 step': (t, (2,))}


def compiled_step(config, shape):
    """The compiled step of ``config`` with whatever ``S.minibatch_similarity`` is now, and its inputs."""
    game, _, state, step = games.setup(config, games.DataSpec(shape))
    n = config.train.batch_size * game.batch_splits
    data = {'x': jax.random.uniform(jax.random.PRNGKey(1), (n, *shape), minval=-1, maxval=1)}
    return jax.jit(step).lower(state, data).compile(), state, data


def step_ms(config, shape, iters: int) -> dict[str, float]:
    """Each form's median step time; the forms' calls alternate, so a change of load hits both alike."""
    original, steps = S.minibatch_similarity, {}
    for form, f in FORMS.items():
        S.minibatch_similarity = f  # what MinibatchDiscrimination calls when the step is traced
        try:
            steps[form] = compiled_step(config, shape)
        finally:
            S.minibatch_similarity = original
    times: dict[str, list[float]] = {form: [] for form in steps}
    for i in range(iters + 1):
        for form, (compiled, state, data) in steps.items():
            t = time.perf_counter()
            jax.block_until_ready(compiled(state, data)[1])
            if i:  # the first call of each is a warm-up
                times[form].append(time.perf_counter() - t)
    return {form: 1e3 * statistics.median(t) for form, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--iters', type=int, default=20)
    args = p.parse_args()
    print(f'jax {jax.__version__} on {jax.devices()[0].device_kind}', flush=True)
    out: dict[str, dict[str, float]] = {}
    for name, shape in OPS.items():
        m = 0.3 * jax.random.normal(jax.random.PRNGKey(0), shape)
        out[name] = {form: median_ms(jax.jit(jax.grad(lambda m, f=f: jnp.sum(f(m) ** 2))), m, iters=args.iters)
                     for form, f in FORMS.items()}
    for name, (config, shape) in step_configs().items():
        out[name] = step_ms(config, shape, max(3, args.iters // 2))
    print('| what | broadcast (autodiff) ms | hand VJP ms | ratio |\n|---|---|---|---|')
    for name, r in out.items():
        a, b = r['broadcast (autodiff)'], r['hand VJP']
        print(f'| {name} | {a:.1f} | {b:.1f} | {a / b:.2f}x |', flush=True)
    print(json.dumps({k: {f: round(v, 2) for f, v in r.items()} for k, r in out.items()}))


if __name__ == '__main__':
    main()
