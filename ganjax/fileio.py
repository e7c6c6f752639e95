"""Files that other processes may read while they are written: written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np


def save_npz(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], compressed: bool = False) -> None:
    """``np.savez(path, **arrays)`` (``np.savez_compressed`` if ``compressed``) to a temporary file in the same
    folder, then renamed into place.

    A cache file written in place is half a file while it is written: a process killed then (a full disk, a
    preemption) leaves a truncated ``.npz`` that every later run fails to read, and a second process that
    finds it cached reads it early. The rename is atomic on one filesystem, so readers see the old file or
    the whole new one.
    """
    path = Path(path)
    if path.suffix != '.npz':  # as np.savez names it
        path = path.with_name(path.name + '.npz')
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f'.{path.stem}.', suffix='.tmp.npz')
    os.close(fd)
    try:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
