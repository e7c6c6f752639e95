"""What the train loop needs to survive preemption and bad numbers, without slowing every step.

* :class:`Preemption`: SIGTERM/SIGINT only set a flag; the loop saves a checkpoint at the next step
  boundary and returns normally, so the process exits 0 within one step plus one save. A second signal
  gets the previous behaviour back (for when even that is too slow). With several processes they must all
  stop at the same step (a checkpoint is saved by all of them together), whichever of them got the
  signal and when: JAX's preemption sync service does that (see :class:`Preemption`).
* :class:`NonFiniteWatch`: the compiled step already refuses every update whose loss or gradient is not
  finite and counts it in ``metrics['nonfinite']``. Reading that number every step would cost a host sync
  per step, so the watch folds it into a small device-side record (running total, first bad step, the
  losses of that step) and the loop reads the record only where it syncs anyway: at log and checkpoint
  boundaries and at the end. In ``'stop'`` mode the check runs before every save, so no checkpoint is
  ever written from a state at or after a non-finite step.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils

from ganjax.errors import NonFiniteError

LOSS_KEYS = ('d_loss', 'penalty', 'g_loss')


class Preemption:
    """Context manager turning SIGTERM and SIGINT into a request to save and stop; ask :meth:`should_stop`
    once per step, every step.

    One process: a Python handler sets :attr:`requested` and the next step boundary stops. Several
    processes (``jax.distributed``): ``jax.distributed.initialize`` starts JAX's preemption sync service,
    whose C++ handler catches SIGTERM and tells every process; ``reached_preemption_sync_point(step)`` then
    turns True on all of them at the same step, about a second later. A Python SIGTERM handler would
    displace that C++ one, so in that case only SIGINT gets a Python handler, which forwards the request as
    SIGTERM. (While training runs there, a second SIGTERM is swallowed by the service: use SIGINT or SIGKILL.)
    """

    def __init__(self, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)):
        self.signals = signals
        self.requested: str | None = None  # the signal's name once one arrived
        self._previous: dict[int, Any] = {}
        self._synced = False

    def _handle(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if self.requested is None:
            self.requested = name
            print(f'{name} received: saving a checkpoint at the next step boundary, then exiting '
                  f'(send it again to stop at once)', file=sys.stderr, flush=True)
            if self._synced:
                os.kill(os.getpid(), signal.SIGTERM)  # to the sync service, which tells the other processes
            return
        previous = self._previous.get(signum, signal.SIG_DFL)
        signal.signal(signum, previous)
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signum)

    def __enter__(self) -> 'Preemption':
        self._synced = jax.process_count() > 1 and _preemption_service() is not None
        signals = [s for s in self.signals if not (self._synced and s == signal.SIGTERM)]
        if threading.current_thread() is threading.main_thread():  # handlers can only be set there
            for s in signals:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)
        self._previous.clear()

    def should_stop(self, step: int) -> bool:
        """Whether to save and stop after ``step``: the same answer on every process."""
        if self._synced:
            if multihost_utils.reached_preemption_sync_point(step):
                self.requested = self.requested or 'SIGTERM'
                return True
            return False
        return self.requested is not None


def _preemption_service() -> Any:
    """JAX's preemption sync manager, if ``jax.distributed.initialize`` started one (it does by default)."""
    from jax._src import distributed  # not public; without it, each process stops on its own signal
    return getattr(getattr(distributed, 'global_state', None), 'preemption_sync_manager', None)


def _first(x: jax.Array) -> jax.Array:
    """A metric as a scalar: metrics are scalars, or equal copies per device under ``pmap``."""
    return jnp.ravel(x)[0]


@jax.jit
def _fold(record: dict[str, jax.Array], metrics: dict[str, jax.Array], step: jax.Array):
    bad = jnp.round(_first(metrics['nonfinite'])).astype(jnp.int32)
    first = (bad > 0) & (record['first_step'] < 0)
    losses = {k: jnp.where(first, _first(metrics[k]).astype(jnp.float32), record['losses'][k])
              for k in record['losses']}
    return {'total': record['total'] + bad, 'first_step': jnp.where(first, step, record['first_step']),
            'losses': losses}


class NonFiniteWatch:
    """Device-side bookkeeping of skipped (non-finite) updates; see the module docstring."""

    def __init__(self, mode: str, total_before: int = 0):
        if mode not in ('stop', 'skip'):
            raise ValueError(f'on_nonfinite must be stop or skip, got {mode!r}')
        self.mode = mode
        self.total_before = int(total_before)  # skipped updates of earlier runs of this workdir
        self._record = None
        self._reported = 0

    def update(self, metrics: dict[str, jax.Array], step: int) -> None:
        """Fold one step's metrics in (asynchronous: no host sync). ``step`` counts from 1."""
        if self._record is None:
            keys = [k for k in LOSS_KEYS if k in metrics]
            self._record = {'total': jnp.zeros((), jnp.int32), 'first_step': jnp.full((), -1, jnp.int32),
                            'losses': {k: jnp.zeros((), jnp.float32) for k in keys}}
        self._record = _fold(self._record, metrics, np.int32(step))

    def poll(self) -> tuple[int, int, dict[str, float]]:
        """``(skipped updates in all runs, first bad step of this run or -1, its losses)``: a host sync."""
        if self._record is None:
            return self.total_before, -1, {}
        r = jax.device_get(self._record)
        return self.total_before + int(r['total']), int(r['first_step']), {
            k: float(v) for k, v in r['losses'].items()}

    def check(self, newest_checkpoint: int | None) -> int:
        """Raise :class:`NonFiniteError` in 'stop' mode if a step went bad; return the running total.

        In 'skip' mode, print one warning line whenever the total grew since the last check.
        """
        total, first, losses = self.poll()
        if first < 0:
            return total
        bad = [f'{k}={v}' for k, v in losses.items() if not np.isfinite(v)]
        what = ', '.join(bad) if bad else 'a gradient (losses ' + ', '.join(
            f'{k}={v:.4g}' for k, v in losses.items()) + ')'
        if self.mode == 'stop':
            kept = f'step {newest_checkpoint}' if newest_checkpoint is not None else 'none'
            raise NonFiniteError(f'non-finite loss or gradient at step {first}: {what}; stopped '
                                 f'(train.on_nonfinite=stop), newest checkpoint: {kept}')
        if total > self._reported:
            print(f'warning: {total} non-finite update(s) skipped so far (first in this run at step '
                  f'{first}: {what})', file=sys.stderr, flush=True)
            self._reported = total
        return total
