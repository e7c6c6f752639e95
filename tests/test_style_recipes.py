"""The style-based and progressive recipes train: each experiments/*_fashion.py recipe of issue 15 runs
two steps through the train loop, shrunk to 8x8 random images and 4 channels (what is exercised is the
recipe's game, losses, schedule and optimiser settings, not its sizes); tests/test_experiments.py builds
them, stylegan2_cifar.py included, at their real sizes."""

import importlib
import json

import jax
import numpy as np
import pytest

from ganjax.train import train_and_evaluate

RECIPES = ['progan_fashion', 'stylegan_fashion', 'stylegan2_fashion', 'stylegan3_fashion']


@pytest.mark.parametrize('recipe', RECIPES)
def test_recipe_runs_two_steps(recipe, tmp_path):
    images = np.asarray(jax.random.randint(jax.random.PRNGKey(0), (16, 8, 8, 1), 0, 256), np.uint8)
    np.savez(tmp_path / 'data.npz', image=images)
    c = importlib.import_module(f'experiments.{recipe}').get_config()
    c.data.path, c.data.image_size, c.data.prefetch = str(tmp_path / 'data.npz'), 0, 0
    c.model.width, c.model.latent_dim, c.style.w_dim = 4, 4, 4
    c.train.num_steps, c.train.batch_size, c.train.log_every = 2, 4, 1
    c.style.stage_steps, c.eval.num_samples, c.checkpoint.every_steps = 1, 8, 0
    summary = train_and_evaluate(c, tmp_path / 'run')
    assert summary['step'] == 2
    logged = [json.loads(l) for l in (tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in logged] == [1, 2] and all(np.isfinite(v) for r in logged for v in r.values()
                                                         if isinstance(v, float))
