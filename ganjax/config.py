"""Loading and checking configs.

Name lookups (games, losses, penalties, models, optimisers) and what a game needs of its networks (say,
no batch norm in a penalised discriminator) are checked by the module that owns each concern when the
game is built; this module checks the numbers and choices that the train loop itself reads. Both happen
before anything is written to the workdir.
"""

from __future__ import annotations

import ml_collections

from ganjax.errors import ConfigError

PARALLEL_MODES = ('single', 'sharded', 'pmap')


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def validate(config: ml_collections.ConfigDict) -> None:
    """Raise :class:`ConfigError` naming the first out-of-range or ill-typed value."""
    t, e = config.train, config.eval
    for key, value, low in (('train.num_steps', t.num_steps, 1), ('train.batch_size', t.batch_size, 1),
                            ('train.d_steps', t.d_steps, 1), ('train.log_every', t.log_every, 1),
                            ('eval.num_samples', e.num_samples, 1), ('eval.fid_every_steps', e.fid_every_steps, 0),
                            ('model.latent_dim', config.model.latent_dim, 1),
                            ('checkpoint.every_steps', config.checkpoint.every_steps, 0),
                            ('checkpoint.keep', config.checkpoint.keep, 1)):
        _require(isinstance(value, int) and not isinstance(value, bool),
                 f'{key} must be an integer, got {value!r}')
        _require(value >= low, f'{key} must be >= {low}, got {value}')
    _require(t.on_nonfinite in ('stop', 'skip'),
             f"train.on_nonfinite must be 'stop' or 'skip', got {t.on_nonfinite!r}")
    _require(config.parallel.mode in PARALLEL_MODES,
             f"unknown parallel.mode {config.parallel.mode!r}; valid: {', '.join(PARALLEL_MODES)}")
