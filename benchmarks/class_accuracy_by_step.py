"""Class accuracy of a conditional run's EMA generator at each saved checkpoint: is it still climbing?

    PYTHONPATH=. python benchmarks/class_accuracy_by_step.py --workdir=RUNS/biggan_fashion-s0 \\
        --steps=4000,5000,6000 --num-samples=5000 [--truncation=1]

Samples exactly as ``benchmarks/quality.py`` does for seed 0 (same latents and classes ``i mod 10``), so
the newest step's figure agrees with its row at the same sample count.
"""

import argparse

import numpy as np

from benchmarks.quality import generate
from ganjax.metrics import classifier as C


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--workdir', required=True)
    p.add_argument('--steps', required=True, help='comma-separated checkpoint steps')
    p.add_argument('--num-samples', type=int, default=5000)
    p.add_argument('--truncation', type=float, default=1.0)
    p.add_argument('--classifier', default='fashion_mnist', choices=['fashion_mnist', 'mnist'])
    p.add_argument('--classifier-data', default='/usr/share/datasets/fashion-mnist')
    args = p.parse_args()
    params, _ = C.get_classifier(args.classifier, args.classifier_data)
    print('| step | class accuracy | per class 0..9 |\n|---|---|---|')
    for step in (int(s) for s in args.steps.split(',')):
        run = generate(args.workdir, args.num_samples, 0, args.truncation, step)
        hit = C.predict(params, run['images']) == run['labels']
        per = ' '.join(f'{np.mean(hit[run["labels"] == k]):.2f}' for k in range(10))
        print(f'| {step} | {np.mean(hit):.4f} | {per} |', flush=True)


if __name__ == '__main__':
    main()
