"""The after-training command lines (``ganjax.sample``, ``ganjax.fid --workdir``) end to end, and every CLI's
answer to bad input or a failing disk: one ``error: ...`` line on stderr, exit status 2, nothing lost."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT

RING = ['--config=experiments/toy_ring.py', '--config.train.batch_size=32', '--config.model.width=16',
        '--config.eval.num_samples=64', '--config.checkpoint.every_steps=10', '--config.train.log_every=100',
        '--config.train.lr_schedule=constant']  # constant: a longer resumed run changes nothing computed


def run_module(module: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, 'PYTHONPATH': str(ROOT)}
    return subprocess.run([sys.executable, '-m', module, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def assert_one_error_line(r: subprocess.CompletedProcess, *needles: str) -> str:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: '), r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (needs root on Linux): a disk that really fills, with the real kernel's ENOSPC."""
    mount = tmp_path / 'disk'
    mount.mkdir()
    if sys.platform != 'linux' or os.geteuid() != 0:
        pytest.skip('a real full disk needs root on Linux (mount -t tmpfs)')
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', str(mount)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f'cannot mount a tmpfs here: {r.stderr.decode().strip()}')
    try:
        yield mount
    finally:
        subprocess.run(['umount', '-l', str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write one file until the file system is full; returns it (delete it to free the space)."""
    filler = directory / 'filler'
    chunk = os.urandom(1 << 16)
    with filler.open('wb') as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


@pytest.mark.slow
def test_full_disk_during_a_checkpoint_is_one_line_and_keeps_older_checkpoints(small_disk):
    from ganjax.checkpoint import load_generator

    workdir = small_disk / 'run'
    first = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=20')
    assert first.returncode == 0, first.stderr
    saved = sorted(os.listdir(workdir / 'checkpoints'))
    assert saved == ['10', '20']
    filler = fill(small_disk)

    r = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=40')
    line = assert_one_error_line(r, 'checkpoint step 30', 'No space left on device',
                                 'newest complete checkpoint is step 20', 'no older checkpoint was touched')
    assert 'Traceback' not in r.stderr, line
    assert sorted(os.listdir(workdir / 'checkpoints')) == saved  # the partial step 30 was cleaned away
    load_generator(workdir, step=20)  # and step 20 still reads back whole

    filler.unlink()  # space again: the same command resumes from step 20 and finishes
    again = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=40')
    assert again.returncode == 0, again.stderr
    assert 'resuming from checkpoint step 20' in again.stdout
    assert json.loads((workdir / 'summary.json').read_text())['step'] == 40


def test_unusable_workdir_is_one_line(tmp_path):
    (tmp_path / 'file').write_text('in the way')
    for workdir, needle in (('/proc/ganjax-run', 'cannot create --workdir /proc/ganjax-run'),
                            (str(tmp_path / 'file' / 'run'), 'cannot create --workdir')):
        r = run_module('ganjax.main', *RING, f'--workdir={workdir}', '--config.train.num_steps=2')
        assert_one_error_line(r, needle)
