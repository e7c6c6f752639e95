"""Side-by-side picture of translation runs on the same test inputs: one row per input, its columns the input,
each run's A->B translation, and the ground truth.

    PYTHONPATH=. python benchmarks/translation_figure.py --workdirs RUN1 RUN2 ... --out=FIG.png \\
        [--data-path=/usr/share/datasets/fashion-mnist] [--num=12]

The first run's config picks the evaluation split (for edges<->Fashion-MNIST: the test items' edges), so
compare runs trained on the same task. Translations are made without dropout, as in
``benchmarks/translation_quality.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--workdirs', nargs='+', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--data-path', default=None, help="override the runs' data.path (e.g. the idx folder)")
    ap.add_argument('--num', type=int, default=12, help='test inputs shown, one per row')
    args = ap.parse_args(argv)

    from ganjax.data.paired import evaluation_domains
    from ganjax.translate import load_translators, translate
    from ganjax.viz import save_image_grid

    columns, domains = [], None
    for workdir in args.workdirs:
        apply, config, _ = load_translators(workdir)
        if domains is None:
            if args.data_path:
                with config.data.unlocked():
                    config.data.path = args.data_path
            domains = evaluation_domains(config.data, max_examples=args.num)
            columns.append(domains.a[:args.num])
        columns.append(translate(apply['AtoB'], domains.a[:args.num]))
    if domains.paired:
        columns.append(domains.b[:args.num])
    rows = np.stack(columns, axis=1)  # (num, columns, H, W, C), laid out row by row
    save_image_grid(args.out, rows.reshape(-1, *rows.shape[2:]), max_images=len(rows) * len(columns),
                    cols=len(columns), scale=3)
    print(f'wrote {args.out}: {args.num} rows x {len(columns)} columns')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
