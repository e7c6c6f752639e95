"""Running the same step on one device, on a sharded device mesh, or under ``pmap``.

``config.parallel.mode`` picks one of three ways to run the one step function of :mod:`ganjax.step`:

* ``'single'``: ``jax.jit`` on the default device;
* ``'sharded'``: ``jax.jit`` over a 1-D :class:`~jax.sharding.Mesh` of every device (axis ``'data'``) with
  the state replicated and the batch sharded on its leading axis. XLA computes global-batch means and
  batch-norm statistics itself, so the step needs no collectives. This is the mode for TPU pods and
  multi-GPU machines.
* ``'pmap'``: the classic replicated-state ``jax.pmap`` with axis name ``'batch'``; the step averages
  gradients with ``pmean`` and batch norm synchronises statistics across devices (cross-replica BN).

In every mode ``train.batch_size`` is the global batch: each process feeds only its slice
(``source.iterate(..., process_index, process_count)``), and a run computes the same update on 8
devices as on one (up to float32 reduction order).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from ganjax.errors import ConfigError

PMAP_AXIS = 'batch'
MESH_AXIS = 'data'


def initialize_distributed() -> None:
    """Join a multi-process (multi-host) run.

    On TPU pod slices (and SLURM, MPI, ...) JAX detects everything itself. Elsewhere set
    ``JAX_COORDINATOR_ADDRESS=host:port`` plus ``GANJAX_NUM_PROCESSES`` and ``GANJAX_PROCESS_ID`` in each
    process's environment. On CPU, cross-process collectives go through gloo.
    """
    num = os.environ.get('GANJAX_NUM_PROCESSES')
    pid = os.environ.get('GANJAX_PROCESS_ID')
    if jax.config.jax_platforms in (None, '', 'cpu'):
        jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(num_processes=int(num) if num else None, process_id=int(pid) if pid else None)


@dataclasses.dataclass
class Parallel:
    """How state, batches and the step are placed for one ``parallel.mode``."""

    mode: str
    axis_name: str | None  # collective axis the step and batch norm use (pmap only)
    mesh: Mesh | None = None

    @property
    def sync_every_step(self) -> bool:
        """Whether the loop must wait for each step before dispatching the next.

        XLA's CPU backend runs the collectives of emulated devices in-process; with several steps in
        flight on a 2-core machine they were seen to deadlock (every device thread waiting in an
        all-reduce rendezvous). Waiting per step costs little there and nothing elsewhere.
        """
        return self.mode != 'single' and jax.default_backend() == 'cpu' and jax.local_device_count() > 1

    @property
    def is_main_process(self) -> bool:
        return jax.process_index() == 0

    def compile(self, step: Callable) -> Callable:
        if self.mode == 'pmap':
            return jax.pmap(step, axis_name=PMAP_AXIS, donate_argnums=0)
        if self.mode == 'sharded':
            rep, data = NamedSharding(self.mesh, P()), NamedSharding(self.mesh, P(MESH_AXIS))
            return jax.jit(step, in_shardings=(rep, data), out_shardings=(rep, rep), donate_argnums=0)
        return jax.jit(step, donate_argnums=0)

    def place_state(self, state: Any) -> Any:
        """A host/single-device state -> the layout ``compile``'s step expects."""
        if self.mode == 'pmap':  # a leading axis of one copy per local device, each on its device
            devices = jax.local_devices()
            stacked = NamedSharding(Mesh(np.array(devices), (PMAP_AXIS,)), P(PMAP_AXIS))
            copies = lambda a: np.broadcast_to(np.asarray(a)[None], (len(devices), *np.shape(a)))
            return jax.device_put(jax.tree.map(copies, state), stacked)
        if self.mode == 'sharded':  # from host memory: a committed device array would need a cross-host copy
            return jax.device_put(jax.device_get(state), NamedSharding(self.mesh, P()))
        return state

    def place_batch(self, local_batch: dict[str, np.ndarray]) -> Any:
        """This process's slice of a global batch -> device arrays."""
        if self.mode == 'pmap':
            n = jax.local_device_count()
            return jax.tree.map(lambda a: a.reshape(n, a.shape[0] // n, *a.shape[1:]), local_batch)
        if self.mode == 'sharded':
            sharding = NamedSharding(self.mesh, P(MESH_AXIS))
            return jax.tree.map(lambda a: jax.make_array_from_process_local_data(sharding, a), local_batch)
        return local_batch

    def local_copy(self, tree: Any) -> Any:
        """One single-device copy of a replicated state or metrics (for sampling, logging, saving)."""
        if self.mode == 'pmap':
            return jax.tree.map(lambda a: a[0], tree)
        if self.mode == 'sharded':
            return jax.tree.map(lambda a: a.addressable_data(0), tree)
        return tree


def setup(config) -> Parallel:
    """Check ``config.parallel`` against the devices present and return the placement helper."""
    mode = config.parallel.mode
    n = jax.device_count()
    if mode == 'single':
        return Parallel('single', None)
    if config.train.batch_size % n:
        raise ConfigError(f'train.batch_size={config.train.batch_size} does not divide by the {n} devices '
                          f'of parallel.mode={mode!r}')
    if mode == 'pmap':
        return Parallel('pmap', PMAP_AXIS)
    if mode == 'sharded':
        return Parallel('sharded', None, Mesh(np.array(jax.devices()), (MESH_AXIS,)))
    raise ConfigError(f"unknown parallel.mode {mode!r}; valid: single, sharded, pmap")
