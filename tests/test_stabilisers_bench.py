"""benchmarks/stabilisers.py's Projected GAN comparison: the commands it would run, checked by hand."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_projected_dry_run_scales_the_ema_horizon_with_the_budget(tmp_path):
    out = subprocess.run(
        [sys.executable, 'benchmarks/stabilisers.py', 'projected', '--seeds=0', '--steps=7000',
         '--projected-steps=1050', f'--samples-dir={tmp_path}', '--dry-run'],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    dcgan, projected = [line for line in out.splitlines() if line.startswith('$ ')]
    assert '--experiment=fashion_mnist_minimax' in dcgan and 'ema_decay' not in dcgan
    assert '--config.train.num_steps=7000' in dcgan
    assert '--experiment=fashion_mnist_minimax' in projected and '--config.model.name=projected' in projected
    assert '--config.train.num_steps=1050' in projected
    # the recipe's 0.999 is a 1000-step horizon over 7000 steps; over 1050 steps the same share is 150
    # steps: 1 - 1/150 = 0.993333
    assert '--config.train.ema_decay=0.993333' in projected
