"""Two processes on localhost (jax.distributed over gloo) train exactly like one process with the same
two devices; plus the per-host slicing arithmetic, and the batch/device divisibility error."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from ganjax.data.toy import ToySource
from tests.conftest import ROOT, emulated_devices, tiny_config

ARGS = ['-m', 'ganjax.main', '--config=experiments/toy_ring.py', '--config.parallel.mode=sharded',
        '--config.train.num_steps=20', '--config.train.batch_size=32', '--config.model.width=16',
        '--config.eval.num_samples=100']


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_hosts_get_disjoint_slices_of_the_global_batch():
    c = tiny_config()
    whole = next(ToySource(c.data, 3).iterate(48, start_step=5))['x']
    parts = [next(ToySource(c.data, 3).iterate(48, start_step=5, process_index=i, process_count=3))['x']
             for i in range(3)]
    assert all(p.shape == (16, 2) for p in parts)
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def start_two(workdir, *extra: str) -> list[subprocess.Popen]:
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'JAX_PLATFORMS': 'cpu',
           'JAX_COORDINATOR_ADDRESS': f'127.0.0.1:{_free_port()}', 'GANJAX_NUM_PROCESSES': '2'}
    return [subprocess.Popen([sys.executable, *ARGS, f'--workdir={workdir}', '--config.parallel.multi_host=True',
                              *extra], cwd=ROOT, text=True, env={**env, 'GANJAX_PROCESS_ID': str(i)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]


def finish_two(procs: list[subprocess.Popen], timeout: float = 600) -> list[tuple[str, str]]:
    outs = [p.communicate(timeout=timeout) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    return outs


@pytest.mark.slow
def test_two_processes_match_one(tmp_path):
    base = {**os.environ, 'PYTHONPATH': str(ROOT), 'JAX_PLATFORMS': 'cpu'}
    one = subprocess.run([sys.executable, *ARGS, f'--workdir={tmp_path / "one"}'], cwd=ROOT, capture_output=True,
                         text=True, timeout=600,
                         env={**base, 'XLA_FLAGS': emulated_devices(2)})
    assert one.returncode == 0, one.stderr[-2000:]
    outs = finish_two(start_two(tmp_path / 'two'))
    assert 'training mlp' in outs[0][0] and 'training mlp' not in outs[1][0]  # only process 0 logs
    a = np.load(tmp_path / 'one' / 'samples.npz')['samples']
    b = np.load(tmp_path / 'two' / 'samples.npz')['samples']
    np.testing.assert_allclose(b, a, atol=1e-6)


def test_batch_not_divisible_by_devices_is_exit_2(tmp_path):
    r = subprocess.run([sys.executable, *ARGS, '--config.train.batch_size=30', f'--workdir={tmp_path / "w"}'],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'PYTHONPATH': str(ROOT),
                            'XLA_FLAGS': emulated_devices(8)})
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: train.batch_size=30 does not divide by the 8 devices of parallel.mode='sharded'"]
    assert not (tmp_path / 'w').exists()


@pytest.mark.slow
@pytest.mark.parametrize('first,second', [('sharded', 'single'), ('single', 'sharded')])
def test_checkpoint_moves_between_8_sharded_devices_and_1(tmp_path, first, second):
    """Half a run in one mode/device count, the rest resumed in the other, ends where a straight run ends."""
    def cli(mode, steps, workdir):
        env = {**os.environ, 'PYTHONPATH': str(ROOT), 'JAX_PLATFORMS': 'cpu'}
        if mode == 'sharded':
            env['XLA_FLAGS'] = emulated_devices(8)
        r = subprocess.run([sys.executable, *ARGS, f'--config.parallel.mode={mode}',
                            f'--config.train.num_steps={steps}', '--config.checkpoint.every_steps=5',
                            '--config.train.lr_schedule=constant',  # a decay would depend on num_steps
                            f'--workdir={workdir}'], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        return r.stdout

    cli(first, 10, tmp_path / 'moved')
    assert 'resuming from checkpoint step 10' in cli(second, 20, tmp_path / 'moved')
    cli('single', 20, tmp_path / 'straight')
    a = np.load(tmp_path / 'moved' / 'samples.npz')['samples']
    b = np.load(tmp_path / 'straight' / 'samples.npz')['samples']
    np.testing.assert_allclose(a, b, atol=1e-4)  # 8-way sums differ from 1-way only in rounding


@pytest.mark.slow
def test_sigterm_to_one_process_stops_both_at_the_same_step_then_resumes_exactly(tmp_path):
    """Only process 1 gets SIGTERM; both save the same step and exit 0 (had they stopped at different
    steps, each would wait forever for the other's part of the save), and resuming ends where a run that
    was never stopped ends."""
    run = ['--config.train.num_steps=1500', '--config.checkpoint.every_steps=50', '--config.train.log_every=500',
           '--config.train.lr_schedule=constant']
    workdir = tmp_path / 'stopped'
    procs = start_two(workdir, *run)
    t0 = time.time()
    while not (workdir / 'checkpoints' / '50').is_dir():
        assert time.time() - t0 < 300 and all(p.poll() is None for p in procs), 'no checkpoint at step 50'
        time.sleep(0.02)
    procs[1].send_signal(signal.SIGTERM)
    outs = finish_two(procs, timeout=300)
    line = [l for l in outs[0][0].splitlines() if l.startswith('stopped at step')]
    assert line, outs[0][0][-2000:]
    stopped = int(line[0].split()[3])
    assert 50 < stopped < 1500
    assert max(int(p.name) for p in (workdir / 'checkpoints').iterdir() if p.name.isdigit()) == stopped
    assert not (workdir / 'samples.npz').exists()
    outs = finish_two(start_two(workdir, *run))
    assert f'resuming from checkpoint step {stopped}' in outs[0][0]
    finish_two(start_two(tmp_path / 'straight', *run))
    np.testing.assert_array_equal(np.load(workdir / 'samples.npz')['samples'],
                                  np.load(tmp_path / 'straight' / 'samples.npz')['samples'])
