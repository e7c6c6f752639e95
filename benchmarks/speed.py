"""Speed of one WGAN-GP iteration: ganjax's real train step against a PyTorch peer, in one process.

The model and recipe are those of the WGAN-GP paper's CIFAR-10 code as ported to PyTorch
(experiments/wgan_gp_dcgan_cifar.py): G = Linear(128 -> 4x4x4D) + BN + ReLU, three kernel-2 stride-2
transposed convs (BN + ReLU between), tanh; D = three kernel-3 stride-2 pad-1 convs with LeakyReLU(0.01),
Linear(4x4x4D -> 1); D = 64. One iteration = 5 critic updates (Wasserstein loss + gradient penalty,
lambda 10, fresh latents each) + 1 generator update, batch 64, Adam(1e-4, 0.5, 0.9) for both.

ganjax is timed through ``ganjax.step.jit_train_step`` on the game, optimisers and state that
``ganjax.games.setup`` builds (what the train loop uses); the PyTorch peer is written below. Both consume the same kind of
input (5 x 64 images per iteration). The two are timed in interleaved rounds so that both see the same
machine load; the medians of the per-iteration times and the median of the per-round ratios are
reported. Achieved GFLOP/s of ganjax's step uses XLA's cost analysis of the iteration written the
straightforward way (see reference_flops), and is divided
by the GFLOP/s of a large float32 matmul measured in this run (the best of XLA's and PyTorch's).

    PYTHONPATH=. python benchmarks/speed.py [--rounds 5 --iters 3 --threads 2 --conv-impl auto]

The last line printed is JSON with the keys ganjax_ms, torch_ms, ratio, peak_fraction, compile_s.

``--dtype-ab`` times ganjax's step in float32 against the same step with ``model.dtype='bfloat16'``
(bfloat16 layers, float32 parameters and optimiser states) instead, in interleaved rounds; its last line is
JSON with float32_ms, bfloat16_ms and ratio (bfloat16 / float32, median of the per-round ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from experiments import wgan_gp_dcgan_cifar  # noqa: E402
from ganjax import games  # noqa: E402
from ganjax.step import jit_train_step  # noqa: E402

SHAPE = (32, 32, 3)


def setup_step(conv_impl: str, critic_loop: str, dtype: str = 'float32'):
    """The compiled-on-first-call step, a fresh state and a random batch of the issue's WGAN-GP recipe."""
    config = wgan_gp_dcgan_cifar.get_config()
    with config.unlocked():
        config.model.conv_impl = conv_impl
        config.train.critic_loop = critic_loop
        config.model.dtype = dtype
    game, optimizers, state, _ = games.setup(config, games.DataSpec(SHAPE))
    n = config.train.d_steps * config.train.batch_size
    batch = {'x': jax.random.uniform(jax.random.PRNGKey(1), (n, *SHAPE), minval=-1.0, maxval=1.0)}
    return jit_train_step(game, optimizers, **games.step_options(config)), state, batch


def reference_flops() -> float:
    """FLOPs of one iteration written the straightforward way (XLA's convolutions, critic loop unrolled),
    from XLA's cost analysis of the lowered step. ganjax's own formulation is not used for the count:
    its im2col matmuls also multiply the zero padding, and XLA counts a scan body once."""
    step, state, batch = setup_step('xla', 'unroll')
    cost = step.lower(state, batch).cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    return float(cost['flops'])


def ganjax_setup(conv_impl: str, critic_loop: str, dtype: str = 'float32'):
    """(compiled step, state, batch, compile seconds)."""
    step, state, batch = setup_step(conv_impl, critic_loop, dtype)
    start = time.perf_counter()
    compiled = step.lower(state, batch).compile()
    compile_s = time.perf_counter() - start
    state, metrics = compiled(state, batch)  # first run (allocations, thread pools) is not timed
    jax.block_until_ready(metrics)
    if not all(np.isfinite(float(v)) for v in metrics.values()):
        raise SystemExit(f'ganjax step produced non-finite metrics: {metrics}')
    return compiled, state, batch, compile_s


def torch_setup(threads: int, width: int = 64, latent: int = 128, batch: int = 64, d_steps: int = 5):
    """An iteration function of the same model and recipe in plain PyTorch."""
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    d = width
    gen = nn.Sequential(
        nn.Linear(latent, 4 * 4 * 4 * d), nn.BatchNorm1d(4 * 4 * 4 * d), nn.ReLU(True),
        nn.Unflatten(1, (4 * d, 4, 4)),
        nn.ConvTranspose2d(4 * d, 2 * d, 2, stride=2), nn.BatchNorm2d(2 * d), nn.ReLU(True),
        nn.ConvTranspose2d(2 * d, d, 2, stride=2), nn.BatchNorm2d(d), nn.ReLU(True),
        nn.ConvTranspose2d(d, 3, 2, stride=2), nn.Tanh())
    disc = nn.Sequential(
        nn.Conv2d(3, d, 3, 2, padding=1), nn.LeakyReLU(0.01),
        nn.Conv2d(d, 2 * d, 3, 2, padding=1), nn.LeakyReLU(0.01),
        nn.Conv2d(2 * d, 4 * d, 3, 2, padding=1), nn.LeakyReLU(0.01),
        nn.Flatten(), nn.Linear(4 * 4 * 4 * d, 1))
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.5, 0.9))
    data = torch.rand(d_steps, batch, 3, 32, 32) * 2 - 1

    def iteration() -> float:
        for i in range(d_steps):
            real = data[i]
            with torch.no_grad():
                fake = gen(torch.randn(batch, latent))
            out = disc(torch.cat([real, fake]))
            d_real, d_fake = out[:batch].mean(), out[batch:].mean()
            eps = torch.rand(batch, 1, 1, 1)
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad, = torch.autograd.grad(disc(x_hat).sum(), x_hat, create_graph=True)
            penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss = d_fake - d_real + 10.0 * penalty
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_d.step()
        for p in disc.parameters():
            p.requires_grad_(False)
        g_loss = -disc(gen(torch.randn(batch, latent))).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        for p in disc.parameters():
            p.requires_grad_(True)
        return float(g_loss.detach())

    iteration()  # warm-up
    return iteration


def matmul_gflops(threads: int, n: int = 2048, reps: int = 5) -> tuple[float, float]:
    """(XLA, PyTorch) GFLOP/s of an n x n x n float32 matmul, best of ``reps``."""
    import torch

    torch.set_num_threads(threads)
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    mm = jax.jit(lambda x, y: x @ y)
    jax.block_until_ready(mm(a, a))
    best_x = min(_timed(lambda: jax.block_until_ready(mm(a, a))) for _ in range(reps))
    t = torch.randn(n, n)
    torch.mm(t, t)
    best_t = min(_timed(lambda: torch.mm(t, t)) for _ in range(reps))
    return 2 * n**3 / best_x / 1e9, 2 * n**3 / best_t / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def dtype_ab(args: argparse.Namespace) -> None:
    """float32 against bfloat16 compute, same step, same process, interleaved rounds."""
    arms = {}
    for dtype in ('float32', 'bfloat16'):
        arms[dtype] = list(ganjax_setup(args.conv_impl, args.critic_loop, dtype))
        print(f'{dtype}: compile {arms[dtype][3]:.1f} s', flush=True)
    times: dict[str, list[float]] = {d: [] for d in arms}
    ratios = []
    for r in range(args.rounds):
        medians = {}
        for dtype in (('float32', 'bfloat16') if r % 2 == 0 else ('bfloat16', 'float32')):
            compiled, state, batch, _ = arms[dtype]
            arms[dtype][1], round_times = _time_steps(compiled, state, batch, args.iters)
            times[dtype] += round_times
            medians[dtype] = statistics.median(round_times)
        ratios.append(medians['bfloat16'] / medians['float32'])
        print(f"round {r}: float32 {1e3 * medians['float32']:.0f} ms, bfloat16 {1e3 * medians['bfloat16']:.0f} ms, "
              f'ratio {ratios[-1]:.2f} (load {os.getloadavg()[0]:.1f})', flush=True)
    result = {'float32_ms': round(1e3 * statistics.median(times['float32']), 1),
              'bfloat16_ms': round(1e3 * statistics.median(times['bfloat16']), 1),
              'ratio': round(statistics.median(ratios), 3)}
    print(json.dumps(result))


def _time_steps(compiled, state, batch, n: int):
    """Run ``n`` steps, each waited for: ``(the last state, the seconds of each)``."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        state, metrics = compiled(state, batch)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
    return state, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rounds', type=int, default=5, help='interleaved ganjax/torch timing rounds')
    parser.add_argument('--iters', type=int, default=3, help='iterations per round and framework')
    parser.add_argument('--threads', type=int, default=2, help='torch.set_num_threads')
    parser.add_argument('--conv-impl', default='auto', help='model.conv_impl for ganjax')
    parser.add_argument('--critic-loop', default='auto', help='train.critic_loop for ganjax')
    parser.add_argument('--no-torch', action='store_true', help='time ganjax only')
    parser.add_argument('--dtype-ab', action='store_true', help='float32 against bfloat16, no torch')
    args = parser.parse_args()

    print(f'jax {jax.__version__} backend {jax.default_backend()} devices {jax.devices()}; '
          f'{platform.processor() or platform.machine()}, {os.cpu_count()} cpus, '
          f'load {os.getloadavg()[0]:.1f}; XLA_FLAGS={os.environ.get("XLA_FLAGS", "")!r}', flush=True)
    if args.dtype_ab:
        dtype_ab(args)
        return
    flops = reference_flops()
    print(f'XLA cost analysis of the straightforward iteration: {flops / 1e9:.1f} GFLOP', flush=True)
    compiled, state, batch, compile_s = ganjax_setup(args.conv_impl, args.critic_loop)
    print(f'ganjax (conv_impl={args.conv_impl}, critic_loop={args.critic_loop}): compile {compile_s:.1f} s',
          flush=True)
    iteration = None if args.no_torch else torch_setup(args.threads)

    g_times, t_times, ratios = [], [], []
    for r in range(args.rounds):
        state, g_round = _time_steps(compiled, state, batch, args.iters)
        g_times += g_round
        msg = f'round {r}: ganjax {1e3 * statistics.median(g_round):.0f} ms'
        if iteration is not None:
            t_round = [_timed(iteration) for _ in range(args.iters)]
            t_times += t_round
            ratios.append(statistics.median(g_round) / statistics.median(t_round))
            msg += f', torch {1e3 * statistics.median(t_round):.0f} ms, ratio {ratios[-1]:.2f}'
        print(msg + f' (load {os.getloadavg()[0]:.1f})', flush=True)

    ganjax_s = statistics.median(g_times)
    torch_s = statistics.median(t_times) if t_times else float('nan')
    xla_peak, torch_peak = matmul_gflops(args.threads)
    peak = max(xla_peak, torch_peak)
    achieved = flops / ganjax_s / 1e9
    result = {
        'ganjax_ms': round(1e3 * ganjax_s, 1),
        'torch_ms': round(1e3 * torch_s, 1),
        'ratio': round(statistics.median(ratios), 3) if ratios else float('nan'),
        'peak_fraction': round(achieved / peak, 3),
        'compile_s': round(compile_s, 2),
    }
    print(f'ganjax {result["ganjax_ms"]:.0f} ms/iter, torch {result["torch_ms"]:.0f} ms/iter '
          f'(torch threads {args.threads}), ratio (median of rounds) {result["ratio"]:.2f}')
    print(f'ganjax achieves {achieved:.1f} GFLOP/s; 2048^3 matmul: XLA {xla_peak:.1f}, '
          f'torch {torch_peak:.1f} GFLOP/s -> {100 * result["peak_fraction"]:.0f}% of peak; '
          f'compile {compile_s:.1f} s; load {os.getloadavg()[0]:.1f}')
    print(json.dumps(result))


if __name__ == '__main__':
    main()
