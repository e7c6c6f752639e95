"""Every recipe in experiments/ passes the config checks and builds its game (networks, optimisers,
updates) for data of its shape, so a recipe cannot rot unnoticed between quality runs."""

import importlib

import pytest

from ganjax import config as config_lib
from ganjax import games
from ganjax.state import make_optimizers
from tests.conftest import ROOT

RECIPES = sorted(p.stem for p in (ROOT / 'experiments').glob('*.py') if p.stem not in ('base', '__init__'))
SHAPES = {'ring': (2,), 'grid': (2,), 'mnist': (28, 28, 1), 'fashion_mnist': (28, 28, 1), 'cifar10': (32, 32, 3),
          'stacked_mnist': (28, 28, 3), 'edges_fashion': (28, 28, 1), 'cycle_gan/facades': (256, 256, 3),
          'cycle_gan/horse2zebra': (256, 256, 3)}


@pytest.mark.parametrize('recipe', RECIPES)
def test_recipe_builds(recipe):
    c = importlib.import_module(f'experiments.{recipe}').get_config()
    config_lib.validate(c)
    shape = SHAPES.get(c.data.name)
    if shape is None:
        pytest.skip(f'no example shape known for data.name={c.data.name!r}')
    if c.data.image_size:
        shape = (c.data.image_size, c.data.image_size, *shape[2:])
    if c.data.channels:
        shape = (*shape[:2], c.data.channels)
    game = games.get_game(c, games.DataSpec(shape, 10 if c.data.conditional else 0))
    assert set(make_optimizers(c.train, game)) <= set(game.networks)
    assert game.sampler in game.networks
