"""``python -m ganjax.translate --workdir=RUN --input=FOLDER_or_.npz --out=DIR``: translate images with a
trained Pix2Pix or CycleGAN run.

The input is a folder of PNG/JPEG images (sorted by name) or a ``.npz`` of images (the keys ganjax's data
reader knows: ``image``/``images``/``x``/...); they are centre-cropped and resized to the run's image size
and converted to its channel count. The newest checkpoint's generators translate them (their EMA, which
equals the trained weights when ``train.ema_decay=0``), without dropout (its expectation).

* Pix2Pix: ``A->B`` (the direction the run was trained in).
* CycleGAN: both directions, the input read as domain A for ``G_ab`` and as domain B for ``G_ba``
  (``--direction=AtoB`` or ``BtoA`` for one only).

Writes ``DIR/<direction>/<name>.png`` per image and ``DIR/translations.npz`` (``input`` and one uint8 NHWC
array per direction, ``names``). Bad input prints one ``error: ...`` line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from ganjax.cli import OneLineParser, guarded
from ganjax.errors import ArgumentError, CheckpointError, DataError

GENERATORS = {'pix2pix': {'AtoB': 'G'}, 'cyclegan': {'AtoB': 'G_ab', 'BtoA': 'G_ba'}}
_CHUNK = 64  # every image is translated in a batch of this shape, so its result never depends on the others


def read_inputs(path: str, size: int, channels: int) -> tuple[np.ndarray, list[str]]:
    """uint8 NHWC images of ``path`` (folder or .npz) at ``size x size`` with ``channels``, and names."""
    from ganjax.data.files import IMAGE_SUFFIXES, _decode, _read_npz
    from ganjax.data.pipeline import preprocess

    p = Path(path).expanduser()
    where = f'--input {path!r}'
    if not p.exists():
        raise ArgumentError(f'{where} does not exist')
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f'{where}: no PNG/JPEG images in this folder')
        images, names = [_decode(f, where) for f in files], [f.stem for f in files]
    elif p.suffix == '.npz':
        images = _read_npz(p, where, 0)[0]
        names = [f'{i:05d}' for i in range(len(images))]
    else:
        raise ArgumentError(f'{where}: not a folder of images or a .npz file')
    return preprocess(images, size, channels, where), names


def load_translators(workdir: str) -> tuple[dict, dict, object]:
    """``(apply functions by direction, the run's config, step)`` of the newest checkpoint in ``workdir``."""
    import jax

    from ganjax import checkpoint, games

    if not Path(workdir).is_dir():
        raise CheckpointError(f'no such --workdir {workdir}')
    steps = checkpoint.saved_steps(workdir)
    if not steps:
        raise CheckpointError(f'no checkpoints in {workdir} (train first, with checkpoint.every_steps > 0)')
    *_, config = checkpoint.load_generator(workdir, steps[-1])
    if config.game.name not in GENERATORS:
        raise ArgumentError(f'{workdir} is a {config.game.name!r} run; ganjax.translate needs a pix2pix or '
                            'cyclegan run')
    shape, num_classes = checkpoint.saved_data(workdir, steps[-1])
    spec = games.DataSpec(shape, num_classes)
    game, _, fresh, _ = games.setup(config, spec)
    with checkpoint.Checkpoints(workdir, config, shape, num_classes, sampler=game.sampler) as ckpt:
        restored = ckpt.restore_latest(fresh)
    state = restored.state
    apply = {}
    for direction, name in GENERATORS[config.game.name].items():
        module = game.networks[name].module
        params = state.ema.get(name, state.params[name])
        fn = jax.jit(lambda p, x, m=module: m.apply({'params': p}, x, None, train=False))
        apply[direction] = (lambda x, fn=fn, params=params: np.asarray(fn(params, x)))
    return apply, config, (restored.step, shape)


def translate(apply, images: np.ndarray) -> np.ndarray:
    """``apply`` over uint8 images in padded chunks of one shape -> uint8 translations."""
    from ganjax import viz

    x = images.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    out = []
    for i in range(0, len(x), _CHUNK):
        chunk = x[i:i + _CHUNK]
        n = len(chunk)
        if n < _CHUNK:
            chunk = np.concatenate([chunk, np.zeros((_CHUNK - n, *chunk.shape[1:]), np.float32)])
        out.append(apply(chunk)[:n])
    return viz.to_uint8(np.concatenate(out))


def build_parser() -> argparse.ArgumentParser:
    ap = OneLineParser(prog='python -m ganjax.translate', description=__doc__.split('\n')[0],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--workdir', required=True, help='a pix2pix or cyclegan run directory (holds checkpoints/)')
    ap.add_argument('--input', required=True, help='a folder of PNG/JPEG images or a .npz of images')
    ap.add_argument('--out', default=None, help='output folder (default WORKDIR/translated/step<N>)')
    ap.add_argument('--direction', default='both', choices=('both', 'AtoB', 'BtoA'),
                    help='CycleGAN: which generator(s); Pix2Pix has AtoB only')
    return ap


def _run(args: argparse.Namespace) -> None:
    from PIL import Image

    inp = Path(args.input).expanduser()
    if not inp.exists():  # checked before the (slow) checkpoint load
        raise ArgumentError(f'--input {args.input!r} does not exist')
    apply, config, (step, shape) = load_translators(args.workdir)
    if args.direction != 'both':
        if args.direction not in apply:
            raise ArgumentError(f'--direction={args.direction}: this {config.game.name} run has only '
                                f'{", ".join(apply)}')
        apply = {args.direction: apply[args.direction]}
    images, names = read_inputs(args.input, shape[0], shape[-1])
    out = Path(args.out or Path(args.workdir) / 'translated' / f'step{step}')
    arrays = {'input': images, 'names': np.array(names)}
    for direction, fn in apply.items():
        result = translate(fn, images)
        arrays[direction] = result
        (out / direction).mkdir(parents=True, exist_ok=True)
        for name, im in zip(names, result):
            Image.fromarray(im[..., 0] if im.shape[-1] == 1 else im).save(out / direction / f'{name}.png')
    np.savez_compressed(out / 'translations.npz', **arrays)
    print(f'translated {len(images)} image(s) ({", ".join(apply)}) with step {step} of {args.workdir} to {out}')


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return guarded(lambda: _run(args))


if __name__ == '__main__':
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    sys.exit(main())
