"""A ``jax.profiler`` trace of a few train steps (``--config.profile_steps=N``, 0 = off).

The trace starts once the run's first step has finished, so compilation (seconds, against milliseconds
per step) stays out of it, and covers the next N steps, waiting for each end so that the device work is
inside the window. It is written to ``WORKDIR/profile/plugins/profile/<time>/*.xplane.pb``: open it with
``tensorboard --logdir WORKDIR/profile`` (Profile tab; needs the ``tensorboard-plugin-profile``
package) or Perfetto. Only process 0 traces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax

from ganjax.errors import ConfigError

PROFILE_DIR = 'profile'


class StepTrace:
    """Call :meth:`after_step` after every step; use as a context manager so that a run that ends (or
    fails) inside the window still closes its trace."""

    def __init__(self, num_steps: int, logdir: str | Path, enabled: bool = True) -> None:
        if not isinstance(num_steps, int) or isinstance(num_steps, bool) or num_steps < 0:
            raise ConfigError(f'profile_steps must be an integer >= 0 (0 = off), got {num_steps!r}')
        self.num_steps = num_steps if enabled else 0
        self.logdir = Path(logdir)
        self._stop_at: int | None = None  # the step whose end closes the window, while tracing
        self._done = self.num_steps == 0

    def after_step(self, step: int, outputs: Any) -> None:
        """``outputs``: what the step returned (waited for at the edges of the window)."""
        if self._done:
            return
        if self._stop_at is None:  # the first step, compiled and run: open the window
            jax.block_until_ready(outputs)
            self.logdir.mkdir(parents=True, exist_ok=True)
            jax.profiler.start_trace(str(self.logdir))
            self._stop_at = step + self.num_steps
        elif step >= self._stop_at:
            jax.block_until_ready(outputs)
            self._stop()

    def _stop(self) -> None:
        jax.profiler.stop_trace()
        self._stop_at, self._done = None, True

    def __enter__(self) -> 'StepTrace':
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stop_at is not None:
            self._stop()
