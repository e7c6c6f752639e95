import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / 'shared' / 'data'
sys.path.insert(0, str(ROOT))  # experiments/ is imported as a package by the configs


def emulated_devices(n: int) -> str:
    """``XLA_FLAGS`` for ``n`` emulated CPU devices. XLA aborts the process when a collective waits over
    40 s for one of its device threads, which a loaded 2-core machine can reach; 600 s keeps a slow run
    a slow run, not a crash."""
    return (f'--xla_force_host_platform_device_count={n} --xla_cpu_collective_call_terminate_timeout_seconds=600'
            ' --xla_cpu_collective_timeout_seconds=600')


def tiny_config(**overrides):
    """The base config, shrunk for fast tests; ``overrides`` are ``'section.key': value`` pairs."""
    from experiments.base import get_config

    c = get_config()
    c.train.num_steps = 20
    c.train.batch_size = 16
    c.train.log_every = 10
    c.eval.num_samples = 64
    c.model.width = 16
    c.model.depth = 2
    for key, value in overrides.items():
        *section, name = key.split('.')
        setattr(getattr(c, section[0]) if section else c, name, value)
    return c


@pytest.fixture
def cfg():
    return tiny_config
