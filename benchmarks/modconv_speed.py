"""CPU speed of the modulated convolution's forms, alone and inside a StyleGAN2 recipe iteration.

Measured the way benchmarks/speed.py measures the convolution lowerings of models/layers.py: every arm
is compiled first, then timed in interleaved rounds (so all arms see the same machine load) and the
median is reported; the fraction of the matmul peak divides the achieved FLOP/s by that of a
2048^3 float32 matmul measured in the same run. FLOPs come from XLA's cost analysis of the lowered
computation written the straightforward way (the 'grouped' form with XLA's convolutions), one count for
every arm, so that the fractions compare like with like (the 'slices' lowering also multiplies padding).

Arms: ``grouped`` (one grouped convolution over the batch, ``feature_group_count = n``), ``fused/xla``
and ``fused/slices`` (the input scaled by the styles, an ordinary convolution with the shared weight,
through XLA's convolution or ganjax's slices-and-matmul lowering, then the demodulation scale).

1. The layer: forward + backward (gradients of x, weight and styles) of one 3x3 modulated,
   demodulated convolution, batch 32, 32x32, 32 -> 32 channels (the stylegan2_fashion recipe's widest
   layer).
2. The recipe: one iteration of experiments/stylegan2_fashion.py (all four updates), amortised over a
   16-step cycle of the lazy schedule (R1 every 16 steps, path length every 4): ms per step averaged
   over 16 consecutive steps (``--cycle``). FLOPs amortised the same way from three lowerings: no regulariser, path
   length every step, R1 every step.

    PYTHONPATH=. python benchmarks/modconv_speed.py [--rounds 3 --layer-iters 10 --skip-recipe]
    PYTHONPATH=. python benchmarks/modconv_speed.py --rounds 1 --recipe-arms grouped --cycle 1

(the second times the grouped form's recipe step apart: one plain step, without regularisers, since a
whole cycle of it takes minutes on CPU; its FLOPs fraction then uses the amortised count and so is an
upper bound).

The last line printed is JSON. models/style.py's AUTO_FORM ('fused' on CPU) and its CPU lowering of the
stride-1 convolutions ('auto' -> 'slices') come from these figures (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from experiments import stylegan2_fashion  # noqa: E402
from ganjax import games  # noqa: E402
from ganjax.models.style import modulated_conv  # noqa: E402

ARMS = {'grouped': ('grouped', 'xla'), 'fused/xla': ('fused', 'xla'), 'fused/slices': ('fused', 'slices')}
SHAPE = (32, 32, 1)


def matmul_gflops(n: int = 2048, reps: int = 5) -> float:
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y)
    jax.block_until_ready(mm(a, a))
    best = min(_timed(lambda: jax.block_until_ready(mm(a, a))) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _flops(lowered) -> float:
    cost = lowered.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost['flops'])


def layer_arm(form: str, impl: str, n: int = 32, size: int = 32, ch: int = 32):
    """(jitted forward+backward, its inputs)."""
    k = jax.random.split(jax.random.PRNGKey(0), 3)
    args = (jax.random.normal(k[0], (n, size, size, ch)), jax.random.normal(k[1], (3, 3, ch, ch)) / 17.0,
            1.0 + 0.1 * jax.random.normal(k[2], (n, ch)))
    loss = lambda x, w, s: jnp.sum(jnp.square(modulated_conv(x, w, s, form=form, impl=impl)))
    return jax.jit(jax.grad(loss, argnums=(0, 1, 2))), args


def recipe_config(form: str, impl: str, **style):
    c = stylegan2_fashion.get_config()
    with c.unlocked():
        c.style.modconv_form, c.model.conv_impl = form, impl
        for key, value in style.items():
            c.style[key] = value
    return c


def recipe_arm(form: str, impl: str):
    """(jitted step, state, batch) of the recipe."""
    c = recipe_config(form, impl)
    game, optimizers, state, step = games.setup(c, games.DataSpec(SHAPE))
    batch = {'x': jax.random.uniform(jax.random.PRNGKey(1), (c.train.batch_size, *SHAPE), minval=-1, maxval=1)}
    return jax.jit(step), state, batch


def recipe_flops() -> float:
    """Amortised FLOPs of one recipe step: plain + path length / 4 + R1 / 16 (reference 'grouped' form)."""
    def flops(**style):
        c = recipe_config('grouped', 'xla', **style)
        game, optimizers, state, step = games.setup(c, games.DataSpec(SHAPE))
        batch = {'x': jnp.zeros((c.train.batch_size, *SHAPE))}
        return _flops(jax.jit(step).lower(state, batch))

    base = stylegan2_fashion.get_config().style
    plain = flops(r1_gamma=0.0, pl_weight=0.0)
    pl = flops(r1_gamma=0.0, pl_every=1) - plain
    r1 = flops(pl_weight=0.0, r1_every=1) - plain
    return plain + pl / base.pl_every + r1 / base.r1_every


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--layer-iters', type=int, default=10)
    parser.add_argument('--skip-recipe', action='store_true')
    parser.add_argument('--skip-layer', action='store_true')
    parser.add_argument('--recipe-arms', default='fused/xla,fused/slices',
                        help="arms timed in the recipe ('grouped' runs seconds per layer on CPU: time it apart)")
    parser.add_argument('--cycle', type=int, default=16,
                        help='steps timed per round (16 = one whole cycle of the lazy schedule; 1 = one plain step)')
    args = parser.parse_args()
    peak = matmul_gflops()
    print(f'backend {jax.default_backend()}, matmul peak {peak:.1f} GFLOP/s, load {os.getloadavg()[0]:.1f}', flush=True)
    result: dict = {'peak_gflops': round(peak, 1)}

    if not args.skip_layer:
        layer(args, peak, result)
    if not args.skip_recipe:
        recipe(args, peak, result)
    result['load'] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


def layer(args, peak: float, result: dict) -> None:
    fn, args_ = layer_arm('grouped', 'xla')
    layer_flops = _flops(fn.lower(*args_))
    layers = {name: layer_arm(*arm) for name, arm in ARMS.items()}
    for fn, a in layers.values():
        jax.block_until_ready(fn(*a))
    times = {name: [] for name in ARMS}
    for r in range(args.rounds):
        for name in (list(ARMS) if r % 2 == 0 else list(ARMS)[::-1]):
            fn, a = layers[name]
            for _ in range(args.layer_iters):
                times[name].append(_timed(lambda: jax.block_until_ready(fn(*a))))
    result['layer'] = {name: {'ms': round(1e3 * statistics.median(t), 2),
                              'peak_fraction': round(layer_flops / statistics.median(t) / 1e9 / peak, 4)}
                       for name, t in times.items()}
    result['layer_gflop'] = round(layer_flops / 1e9, 3)
    print('layer', json.dumps(result['layer']), flush=True)


def recipe(args, peak: float, result: dict) -> None:
    flops = recipe_flops()
    arms = {}
    names = args.recipe_arms.split(',')
    for name, arm in ((n, ARMS[n]) for n in names):
        step, state, batch = recipe_arm(*arm)
        t0 = time.perf_counter()
        state, m = step(state, batch)
        jax.block_until_ready(m)
        arms[name] = [step, state, batch]
        print(f'{name}: compile + first step {time.perf_counter() - t0:.1f} s', flush=True)
    per_step = {name: [] for name in names}
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            step, state, batch = arms[name]
            start = time.perf_counter()
            for _ in range(args.cycle):  # from step 1 on: 16 = one whole cycle of the lazy schedule
                state, m = step(state, batch)
            jax.block_until_ready(m)
            per_step[name].append((time.perf_counter() - start) / args.cycle)
            arms[name][1] = state
        print(f'round {r}: ' + ', '.join(f'{n} {1e3 * t[-1]:.0f} ms' for n, t in per_step.items())
              + f' (load {os.getloadavg()[0]:.1f})', flush=True)
    result['recipe'] = {name: {'ms': round(1e3 * statistics.median(t), 1),
                               'peak_fraction': round(flops / statistics.median(t) / 1e9 / peak, 4)}
                        for name, t in per_step.items()}
    result['recipe_gflop'] = round(flops / 1e9, 3)
    result['cycle'] = args.cycle


if __name__ == '__main__':
    main()
