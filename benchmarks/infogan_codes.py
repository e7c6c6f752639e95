"""InfoGAN's picture of what each latent code does, from a trained run: one row per noise vector, the
categorical code walked through its values, then each continuous code swept over [-1, 1] with everything
else fixed (:func:`ganjax.games.infogan.code_sweep`).

    PYTHONPATH=. python benchmarks/infogan_codes.py --workdir=RUN --out=benchmarks/figures/infogan_codes.png
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from ganjax.games import infogan
from ganjax.sample import load_sampler
from ganjax.viz import save_image_grid


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--workdir', required=True)
    p.add_argument('--out', required=True)
    p.add_argument('--rows', type=int, default=6)
    p.add_argument('--steps', type=int, default=7, help='values per continuous code')
    args = p.parse_args()
    sampler = load_sampler(args.workdir)
    if sampler.config.game.name != 'infogan':
        raise SystemExit(f'error: {args.workdir} is a {sampler.config.game.name!r} run, not infogan')
    z, cols = infogan.code_sweep(sampler.config, jax.random.PRNGKey(0), args.rows, args.steps)
    x = sampler(np.asarray(z))
    images = np.clip(np.round((x + 1.0) * 127.5), 0, 255).astype(np.uint8)
    save_image_grid(args.out, images, max_images=len(images), cols=cols)
    print(f'wrote {args.out}: {args.rows} rows x {cols} columns')


if __name__ == '__main__':
    main()
