"""Command line: ``python -m ganjax.main --config=experiments/NAME.py --workdir=DIR [--config.KEY=VALUE]``.

Only flags here; the loop is :func:`ganjax.train.train_and_evaluate`. Bad input (unknown key, wrong
type or range, missing config file, missing data) prints one ``error: ...`` line and exits with status 2,
and so does a file system that refuses a write (full disk, read-only, no permission).
"""

from __future__ import annotations

import os
import sys

from absl import flags
from ml_collections import config_flags

from ganjax.cli import fail as _fail

FLAGS = flags.FLAGS
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file (experiments/*.py).')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for the run: checkpoints, logs, samples, summary.')


def _enable_compilation_cache() -> None:
    """Keep compiled steps on disk so that a second run of the same config starts in seconds.

    ``GANJAX_COMPILATION_CACHE`` names the directory (default ``~/.cache/ganjax/xla``); set it to '' to
    turn the cache off.
    """
    import jax

    path = os.environ.get('GANJAX_COMPILATION_CACHE', os.path.expanduser('~/.cache/ganjax/xla'))
    if path:
        jax.config.update('jax_compilation_cache_dir', path)
        jax.config.update('jax_persistent_cache_min_compile_time_secs', 1.0)


def run(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    for arg in argv[1:]:
        if arg.startswith('--config='):
            path = arg.split('=', 1)[1].split(':', 1)[0]  # 'file.py:arg' passes an argument to get_config
            if not os.path.isfile(path):
                return _fail(f'config file {path} not found')
    try:
        FLAGS(argv)
        config = _CONFIG.value
        if config is not None:
            config.keys()  # the file loads lazily: make its errors happen here
    except Exception as e:  # noqa: BLE001 -- anything raised while reading flags or the file is user input
        if isinstance(e, (AttributeError, KeyError)):
            name = str(e).strip('"\'')
            bad = [a.split('=', 1)[0][len('--config.'):] for a in argv
                   if a.startswith('--config.') and name in a]
            return _fail(f"unknown config key {bad[0] if bad else name!r} (see experiments/base.py)")
        return _fail(e if isinstance(e, flags.Error) else f'{type(e).__name__}: {e}')
    if config is None:
        return _fail('--config=experiments/NAME.py is required')
    if not _WORKDIR.value:
        return _fail('--workdir=DIR is required')

    from ganjax.cli import guarded  # imported late: JAX start-up is not needed for flag errors
    from ganjax.train import train_and_evaluate

    _enable_compilation_cache()
    return guarded(lambda: train_and_evaluate(config, _WORKDIR.value))


def main() -> None:
    sys.exit(run())


if __name__ == '__main__':
    main()
