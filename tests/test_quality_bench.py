"""benchmarks/quality.py's bookkeeping: the mean ± std it reports and the RESULTS.md rows it appends.

The training and scoring it drives are tested where they live (CLI, FID, Stacked-MNIST tests); here only
its own arithmetic, quantisation, file handling and the way it runs (and stops) the trainer.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location('quality_bench', ROOT / 'benchmarks' / 'quality.py')
Q = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(Q)


def test_mean_std_is_the_sample_std():
    # 1, 2, 3: mean 2, sample variance ((1 + 0 + 1) / 2) = 1.
    assert Q.mean_std([1.0, 2.0, 3.0], '.2f') == '2.00 ± 1.00'
    assert Q.mean_std([7.123], '.1f') == '7.1'  # one seed: no spread to report


def test_row_and_append(tmp_path):
    metrics = {0: {'fid': 10.0, 'kid': 0.01}, 2: {'fid': 14.0, 'kid': 0.03}}
    runs = {0: {'steps': 500, 'wall_s': 100.0, 'machine': 'M'}, 2: {'steps': 500, 'wall_s': 110.0, 'machine': 'M'}}
    line = Q.row('exp', metrics, runs, 1000, 'cmd')
    cells = [c.strip() for c in line.strip('|').split('|')]
    assert cells[:4] == ['exp', '0,2', '500', '1000']
    # fid: mean 12, sample std sqrt(8) = 2.83; kid: mean 0.02, std 0.0141
    assert cells[4] == 'fid 12.00 ± 2.83; kid 0.0200 ± 0.0141'
    assert cells[5] == '105 ± 7 (M)' and cells[7] == '`cmd`'
    results = tmp_path / 'RESULTS.md'
    results.write_text('# Results\n\nearlier text\n')
    Q.append(line, results)
    Q.append(line.replace('exp', 'exp2'), results)
    text = results.read_text()
    assert text.startswith('# Results\n\nearlier text\n')
    assert text.count('## Sample quality (`benchmarks/quality.py`)') == 1  # the header once
    assert text.rstrip('\n').splitlines()[-2:] == [line, line.replace('exp', 'exp2')]


def test_generate_samples_the_ema_or_the_trained_generator(monkeypatch):
    """``generate(ema=...)`` asks the loader for that copy of G and quantises its [-1, 1] output like real
    images: round((x + 1) * 127.5), clipped to [0, 255]."""
    from ganjax import sample

    class FakeSampler:
        config = type('C', (), {'game': type('G', (), {'name': 'adversarial'})})
        step = 7

        def __init__(self, ema):
            self.value = 0.5 if ema else -0.5  # two distinguishable "generators"

        def latents(self, seeds, truncation):
            return np.zeros((len(seeds), 2), np.float32)

        def labels(self, seeds):
            return None

        def __call__(self, z, labels):
            return np.full((len(z), 2, 2, 1), self.value, np.float32)

    asked = []
    monkeypatch.setattr(sample, 'load_sampler', lambda workdir, step, ema: asked.append(ema) or FakeSampler(ema))
    ema, raw = Q.generate('W', 3, 0), Q.generate('W', 3, 0, ema=False)
    assert asked == [True, False]
    assert ema['step'] == 7 and ema['images'].dtype == np.uint8
    assert (ema['images'] == 191).all()  # (0.5 + 1) * 127.5 = 191.25
    assert (raw['images'] == 64).all()  # (-0.5 + 1) * 127.5 = 63.75


def test_run_child_returns_the_status_and_stderr_and_passes_stdout_through(capfd):
    code = "import sys; print('progress 1/2', flush=True); sys.stderr.write('the error'); sys.exit(3)"
    assert Q.run_child([sys.executable, '-c', code], dict(os.environ)) == (3, 'the error')
    assert 'progress 1/2' in capfd.readouterr().out  # live on this process's stdout, not captured


def test_sigterm_to_quality_reaches_the_trainer_and_waits_for_it(tmp_path):
    """Killing the benchmark (SIGTERM) must not orphan its trainer: the child gets SIGTERM (the trainer's
    preemption signal: it checkpoints), the parent waits for it, then exits with 128 + 15."""
    marker = tmp_path / 'child.txt'
    child = ('import os, signal, sys, time\n'
             f'def stop(*_): open({str(marker)!r}, "a").write("terminated"); sys.exit(0)\n'
             'signal.signal(signal.SIGTERM, stop)\n'
             f'open({str(marker)!r}, "w").write(str(os.getpid()) + " ")\n'
             'print("ready", flush=True)\n'
             'time.sleep(60)\n')
    parent = ('import importlib.util, os, sys\n'
              f'spec = importlib.util.spec_from_file_location("q", {str(ROOT / "benchmarks" / "quality.py")!r})\n'
              'q = importlib.util.module_from_spec(spec); spec.loader.exec_module(q)\n'
              f'q.run_child([sys.executable, "-c", {child!r}], dict(os.environ))\n')
    proc = subprocess.Popen([sys.executable, '-c', parent], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'ready'
    pid = int(marker.read_text().split()[0])
    try:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        assert marker.read_text().split()[1:] == ['terminated']
        with pytest.raises(ProcessLookupError):  # the child is gone, not orphaned
            os.kill(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
