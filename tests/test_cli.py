"""The command line end to end on a tiny ring run, and its answers to bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

TINY = ['--config.train.num_steps=30', '--config.train.batch_size=32', '--config.train.log_every=10',
        '--config.eval.num_samples=200', '--config.model.width=16']


def run_cli(*args, timeout=300):
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    return subprocess.run([sys.executable, '-m', 'ganjax.main', *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_ring_run_writes_summary_samples_and_picture(tmp_path):
    workdir = tmp_path / 'run'
    r = run_cli('--config=experiments/toy_ring.py', f'--workdir={workdir}', *TINY)
    assert r.returncode == 0, r.stderr
    assert 'steps/s' in r.stdout and 'ETA' in r.stdout
    summary = json.loads((workdir / 'summary.json').read_text())
    assert summary['step'] == 30
    assert set(summary['metrics']) >= {'modes', 'hq_fraction', 'reverse_kl'}
    samples = np.load(workdir / 'samples.npz')['samples']
    assert samples.shape == (200, 2) and np.all(np.isfinite(samples))
    assert (workdir / 'samples.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    lines = (workdir / 'metrics.jsonl').read_text().splitlines()
    assert [json.loads(l)['step'] for l in lines] == [10, 20, 30]


@pytest.mark.parametrize('args,needle', [
    (['--config=experiments/toy_ring.py', '--config.train.nope=1'], 'nope'),
    (['--config=experiments/toy_ring.py', '--config.train.num_steps=abc'], 'num_steps'),
    (['--config=experiments/toy_ring.py', '--config.train.num_steps=-5'], 'train.num_steps'),
    (['--config=experiments/toy_ring.py', '--config.loss.name=fancy'], 'loss.name'),
    (['--config=experiments/toy_ring.py', '--config.penalty.name=gp2'], 'penalty.name'),
    (['--config=experiments/does_not_exist.py'], 'does_not_exist'),
    (['--config=experiments/toy_ring.py', '--config.parallel.mode=magic'], 'parallel.mode'),
    (['--config=experiments/toy_ring.py', '--config.model.dtype=float16'], 'model.dtype'),
    (['--config=experiments/toy_ring.py', '--config.eval.image_every_steps=-1'], 'eval.image_every_steps'),
    (['--config=experiments/toy_ring.py', '--config.profile_steps=-3'], 'profile_steps'),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, needle):
    workdir = tmp_path / 'run'
    r = run_cli(*args, f'--workdir={workdir}')
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), r.stderr
    assert needle in lines[0]
    assert not workdir.exists()
