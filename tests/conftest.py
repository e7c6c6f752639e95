import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / 'shared' / 'data'
sys.path.insert(0, str(ROOT))  # experiments/ is imported as a package by the configs


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
