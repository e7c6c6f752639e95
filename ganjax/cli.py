"""What the command lines share: bad input, a failing disk or a usage mistake is one ``error: ...`` line on
stderr and exit status 2, never a traceback or argparse's two-line usage dump (scripts grep for one line;
people read one line). Tracebacks are kept for bugs."""

from __future__ import annotations

import argparse
import errno
import sys
from typing import Callable

from ganjax.errors import GanjaxError


def fail(message: object) -> int:
    """Print ``error: <first line of message>`` on stderr; returns the exit status 2."""
    lines = str(message).strip().splitlines()
    print(f"error: {lines[0] if lines else 'invalid arguments'}", file=sys.stderr)
    return 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, whose usage errors (unknown flag, ``--num=abc``) are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.exit(fail(f'{message} (see {self.prog} --help)'))


# OSErrors that mean the file system refused (full, read-only, forbidden, no such place), not a bug
REFUSALS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOENT,
            errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.EIO}


def guarded(body: Callable[[], None]) -> int:
    """Run ``body``; a :class:`GanjaxError`, or an ``OSError`` by which the file system refused (see
    :data:`REFUSALS`), becomes one line and status 2. Returns the exit status."""
    try:
        body()
    except GanjaxError as e:
        return fail(e)
    except OSError as e:
        if e.errno not in REFUSALS:
            raise
        where = f' ({e.filename})' if e.filename else ''
        return fail(f'cannot write or read a file: {e.strerror or e}{where}')
    return 0
