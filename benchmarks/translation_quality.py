"""Quality of a trained Pix2Pix or CycleGAN run on its paired test split; prints one benchmarks/RESULTS.md row.

    PYTHONPATH=. python benchmarks/translation_quality.py --workdir=RUN [--num=10000] [--fid] \\
        [--data-path=/usr/share/datasets/fashion-mnist] [--label=NAME] [--append]

The run's newest checkpoint translates the first ``--num`` input images of the evaluation split (for
edges<->Fashion-MNIST: the edges of Fashion-MNIST's test items) with the A->B generator, without dropout,
quantised to uint8 like real images. Against the ground-truth targets of that split:

* ``L1``: mean |translation - target| on the [-1, 1] scale the generator's L1 term uses;
* ``PSNR``: mean over images of ``10 log10(255^2 / MSE)`` on uint8 pixels;
* ``FID`` (``--fid``): translations against the targets (both ``--num`` images; ganjax's FID, the targets'
  statistics cached under the ganjax cache dir); a 10k FID costs ~12 min of CPU per side;
* ``class acc``: for labelled data (Fashion-MNIST), the fraction of translations that ganjax's cached
  Fashion-MNIST classifier (``ganjax.metrics.classifier``) assigns the class of the item whose edges they
  came from; the classifier's accuracy on the targets themselves is printed beside it;
* CycleGAN also: the cycle reconstruction errors ``mean |G_ba(G_ab(a)) - a|`` and ``mean |G_ab(G_ba(b)) - b|``
  (the [-1, 1] scale).

For the 32x32 edges<->Fashion-MNIST tasks (items padded by 2 pixels), L1, PSNR and the classifier look at the
central 28x28 (the item), FID at the full 32x32 image.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / 'benchmarks' / 'RESULTS.md'
HEADER = ('| run | game | step | N | L1 | PSNR (dB) | FID | class acc (real items) | cycle err A / B | date |\n'
          '|---|---|---|---|---|---|---|---|---|---|')


def to_signed(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) / np.float32(127.5) - np.float32(1.0)


def centre(x: np.ndarray, padded: bool) -> np.ndarray:
    return x[:, 2:-2, 2:-2] if padded else x


def psnr(fake: np.ndarray, real: np.ndarray) -> float:
    mse = np.mean(np.square(fake.astype(np.float64) - real.astype(np.float64)), axis=(1, 2, 3))
    return float(np.mean(10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))))


def fid(fake: np.ndarray, real: np.ndarray, cache_name: str) -> float:
    from ganjax.metrics import fid as fid_lib
    from ganjax.metrics.weights import cache_dir

    ext = fid_lib.InceptionFeatures()
    path = cache_dir() / 'quality' / cache_name
    if path.is_file():
        ref = fid_lib.load_stats(path)
    else:
        ref = ext.stats([real])
        path.parent.mkdir(parents=True, exist_ok=True)
        fid_lib.save_stats(path, *ref)
    return float(fid_lib.frechet_distance(*ext.stats([fake]), *ref))


def evaluate(workdir: str, num: int, with_fid: bool, data_path: str | None, with_classifier: bool = True) -> dict:
    from ganjax.data.paired import EDGES_FASHION, evaluation_domains
    from ganjax.translate import load_translators, translate

    apply, config, (step, shape) = load_translators(workdir)
    if data_path:
        with config.data.unlocked():
            config.data.path = data_path
    d = evaluation_domains(config.data, max_examples=num)
    if not d.paired:
        raise SystemExit('error: the evaluation split is not paired; these metrics need ground truth')
    a, b = d.a[:num], d.b[:num]
    padded = config.data.name == EDGES_FASHION and shape[0] == 32
    t0 = time.perf_counter()
    fake = translate(apply['AtoB'], a)
    out = {'game': config.game.name, 'step': step, 'n': len(a), 'translate_s': time.perf_counter() - t0,
           'l1': float(np.mean(np.abs(to_signed(centre(fake, padded)) - to_signed(centre(b, padded))))),
           'psnr': psnr(centre(fake, padded), centre(b, padded))}
    if d.labels is not None and with_classifier:
        from ganjax.metrics import classifier

        params, _ = classifier.get_classifier('fashion_mnist', data_path or None)
        labels = d.labels[:num]
        out['class_acc'] = float(np.mean(classifier.predict(params, centre(fake, padded)) == labels))
        out['class_acc_real'] = float(np.mean(classifier.predict(params, centre(b, padded)) == labels))
    if 'BtoA' in apply:
        rec_a = translate(apply['BtoA'], fake)
        rec_b = translate(apply['AtoB'], translate(apply['BtoA'], b))
        out['cycle_a'] = float(np.mean(np.abs(to_signed(rec_a) - to_signed(a))))
        out['cycle_b'] = float(np.mean(np.abs(to_signed(rec_b) - to_signed(b))))
    if with_fid:
        name = f'translation_{config.data.name.replace("/", "_")}_{config.data.direction}_{len(b)}_{shape[0]}.npz'
        out['fid'] = fid(fake, b, name)
    return out


def row(label: str, m: dict) -> str:
    f = lambda k, fmt: format(m[k], fmt) if k in m else 'n/a'
    acc = f'{f("class_acc", ".3f")} ({f("class_acc_real", ".3f")})' if 'class_acc' in m else 'n/a'
    cyc = f'{f("cycle_a", ".3f")} / {f("cycle_b", ".3f")}' if 'cycle_a' in m else 'n/a'
    return (f'| {label} | {m["game"]} | {m["step"]} | {m["n"]} | {m["l1"]:.4f} | {m["psnr"]:.2f} | '
            f'{f("fid", ".2f")} | {acc} | {cyc} | {datetime.date.today().isoformat()} |')


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--workdir', required=True)
    ap.add_argument('--num', type=int, default=10000, help='test inputs translated (default: 10,000)')
    ap.add_argument('--fid', action='store_true', help='also FID of the translations against the targets')
    ap.add_argument('--data-path', default=None, help="override the run's data.path (e.g. the idx folder)")
    ap.add_argument('--no-classifier', dest='classifier', action='store_false',
                    help='skip the class accuracy (the classifier trains on first use: minutes of CPU)')
    ap.add_argument('--label', default=None, help='the row label (default: the workdir name)')
    ap.add_argument('--append', action='store_true', help='append the row to benchmarks/RESULTS.md')
    args = ap.parse_args(argv)
    m = evaluate(args.workdir, args.num, args.fid, args.data_path, args.classifier)
    print({k: round(v, 5) if isinstance(v, float) else v for k, v in m.items()})
    line = row(args.label or Path(args.workdir).name, m)
    print(HEADER)
    print(line)
    if args.append:
        with RESULTS.open('a') as fh:
            fh.write(line + '\n')
    return 0


if __name__ == '__main__':
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
    sys.exit(main())
