"""Command line: ``python -m ganjax.main --config=experiments/NAME.py --workdir=DIR [--config.KEY=VALUE]``.

Only flags here; the loop is :func:`ganjax.train.train_and_evaluate`. Bad input (unknown key, wrong
type or range, missing config file, missing data) prints one ``error: ...`` line and exits with status 2.
"""

from __future__ import annotations

import sys

from absl import flags
from ml_collections import config_flags

FLAGS = flags.FLAGS
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file (experiments/*.py).')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for the run: checkpoints, logs, samples, summary.')


def _fail(message: str) -> int:
    first = str(message).strip().splitlines()
    print(f"error: {first[0] if first else 'invalid arguments'}", file=sys.stderr)
    return 2


def run(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    try:
        FLAGS(argv)
        config = _CONFIG.value
    except (flags.Error, KeyError, TypeError, ValueError, AttributeError, OSError) as e:
        return _fail(e)
    if config is None:
        return _fail('--config=experiments/NAME.py is required')
    if not _WORKDIR.value:
        return _fail('--workdir=DIR is required')

    from ganjax.errors import GanjaxError  # imported late: JAX start-up is not needed for flag errors
    from ganjax.train import train_and_evaluate

    try:
        train_and_evaluate(config, _WORKDIR.value)
    except GanjaxError as e:
        return _fail(e)
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == '__main__':
    main()
