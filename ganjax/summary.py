"""TensorBoard logs of a run, in ``WORKDIR/tensorboard``, written by process 0 alone.

What a run logs there: every scalar it prints (the losses, ``nonfinite_total``, ``steps_per_s``; FID when
``eval.fid_every_steps`` is on; the final metrics), the config as text, and with
``eval.image_every_steps=N`` (0 = off) a picture of the EMA generator's samples every N steps: an image
grid, or for 2-D data a scatter over the modes. The same picture goes to ``WORKDIR/samples_<step>.png``,
so progress can be watched without TensorBoard. View with ``tensorboard --logdir WORKDIR/tensorboard``.

Why tensorboardX behind our own small class: clu's metric writers, the usual choice with Flax, need
TensorFlow for their TensorBoard backend (hundreds of MB, slow to import); tensorboardX writes the same
event files with protobuf alone. :class:`SummaryWriter` keeps clu's method names (``write_scalars``,
``write_images``, ``write_texts``, ``flush``, ``close``), so switching to clu later is a one-line change.
Measured on the toy ring (``benchmarks/logging_overhead.py``, ``benchmarks/RESULTS.md``): the scalars
cost 0.03% of the loop, a picture every 1000 steps 1.1%.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ganjax import viz
from ganjax.errors import ConfigError

TENSORBOARD_DIR = 'tensorboard'
PICTURE_SAMPLES = {True: 64, False: 1000}  # samples in a progress picture: images (a grid), 2-D points


class SummaryWriter:
    """TensorBoard event files in ``logdir``, with clu's ``metric_writers`` method names.

    Synchronous on purpose: each call writes its events in the caller's thread and flushes them (a scalar
    costs well under a millisecond; an image one PNG encoding), so a crash loses nothing and a full disk
    raises ``OSError`` right here, where the CLI turns it into one line. tensorboardX's own
    ``SummaryWriter`` queues events to a thread through a multiprocessing queue: on a full disk that thread
    and its exit hook print tracebacks after the run has ended. Only its event-file and protobuf pieces are
    used.
    """

    def __init__(self, logdir: str | Path) -> None:
        # tensorboardX is imported where it is used, not with this module: importing it imports torch when
        # torch is installed (~1.2 s here), which only process 0 of a run should pay
        from tensorboardX.event_file_writer import EventsWriter

        Path(logdir).mkdir(parents=True, exist_ok=True)
        self._file = EventsWriter(str(Path(logdir) / 'events'))  # events.out.tfevents.<time>.<host>
        self._closed = False

    def _write(self, step: int, summaries: list[Any]) -> None:
        from tensorboardX.proto.event_pb2 import Event

        for one in summaries:
            self._file.write_event(Event(wall_time=time.time(), step=int(step), summary=one))
        self._file.flush()

    def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
        from tensorboardX.summary import scalar

        self._write(step, [scalar(name, float(value)) for name, value in scalars.items()])

    def write_images(self, step: int, images: Mapping[str, np.ndarray]) -> None:
        """``images``: name -> uint8 ``HWC`` picture, or ``NHWC`` images, which are tiled into one grid."""
        from tensorboardX.summary import image as image_summary

        summaries = []
        for name, image in images.items():
            image = np.asarray(image)
            if image.ndim == 4:
                image = viz.image_grid(image, max_images=len(image))
            if image.shape[-1] == 1:
                image = np.repeat(image, 3, axis=-1)
            summaries.append(image_summary(name, image, dataformats='HWC'))
        self._write(step, summaries)

    def write_texts(self, step: int, texts: Mapping[str, str]) -> None:
        from tensorboardX.summary import text

        self._write(step, [text(name, value) for name, value in texts.items()])

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._file.close()


class NullWriter:
    """The writer of processes other than 0: the same methods, doing nothing."""

    def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
        pass

    def write_images(self, step: int, images: Mapping[str, np.ndarray]) -> None:
        pass

    def write_texts(self, step: int, texts: Mapping[str, str]) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


Writer = SummaryWriter | NullWriter


def open_run_writer(workdir: Path, config: Any, step: int) -> SummaryWriter:
    """The writer of a run's ``tensorboard/`` folder, with the config (JSON) logged as text at ``step``."""
    writer = SummaryWriter(Path(workdir) / TENSORBOARD_DIR)
    writer.write_texts(step, {'config': '```\n' + config.to_json_best_effort(indent=2) + '\n```'})
    return writer


class ProgressPictures:
    """Every ``eval.image_every_steps`` steps, a picture of samples on fixed latents (the first of the
    evaluation latents): to TensorBoard (image ``samples``) and to ``WORKDIR/samples_<step>.png``."""

    def __init__(self, every: int, source: Any, z: Any, labels: Any | None) -> None:
        if not isinstance(every, int) or isinstance(every, bool) or every < 0:
            raise ConfigError(f'eval.image_every_steps must be an integer >= 0 (0 = off), got {every!r}')
        self.every = every
        self.source = source
        n = PICTURE_SAMPLES[bool(source.is_image)]
        self.inputs = (z[:n], None if labels is None else labels[:n])

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    def write(self, step: int, samples: np.ndarray, workdir: Path, writer: Writer) -> None:
        if self.source.is_image:
            images = viz.to_uint8(samples)
            viz.save_image_grid(Path(workdir) / f'samples_{step}.png', images, max_images=len(images))
            picture = viz.image_grid(images, max_images=len(images))
        else:
            image = viz.scatter_image(np.asarray(samples), modes=getattr(self.source, 'modes', None))
            image.save(Path(workdir) / f'samples_{step}.png')
            picture = np.asarray(image)
        writer.write_images(step, {'samples': picture})
