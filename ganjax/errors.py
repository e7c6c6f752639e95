"""Typed errors for bad input.

Every problem a user can cause (a bad config, missing data, a corrupt checkpoint, wrong weights) raises a
subclass of :class:`GanjaxError` with a one-line message. The CLIs turn these into ``error: ...`` on stderr
and exit status 2; anything else is a bug and keeps its traceback.
"""


class GanjaxError(Exception):
    """Base class of all user-facing ganjax errors. The message is one line, meant for a person."""


class ConfigError(GanjaxError):
    """A config key, value, type or range is wrong, or a config file cannot be loaded."""


class DataError(GanjaxError):
    """A dataset cannot be found, read or decoded, or does not fit the model."""


class CheckpointError(GanjaxError):
    """A checkpoint is missing, corrupt, or was written by an incompatible config."""


class WeightsError(GanjaxError):
    """Pretrained weights (e.g. the FID Inception network) are missing, corrupt or fail their checksum."""


class NonFiniteError(GanjaxError):
    """Training produced a NaN or infinite loss or gradient."""


class OutputError(GanjaxError):
    """Something ganjax must write cannot be written: an unusable ``--workdir``, a full disk, a read-only or
    forbidden path. Not a bug, so it gets the same one line as bad input instead of a traceback."""


class CheckpointWriteError(CheckpointError, OutputError):
    """A checkpoint could not be written (disk full, no permission). Older checkpoints are left as they were."""


class ArgumentError(GanjaxError):
    """A command-line or function argument is malformed or out of range (seeds, truncation, class, counts)."""
