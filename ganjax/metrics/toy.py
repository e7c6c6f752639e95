"""Mode-coverage metrics for the 2-D mixtures (the PacGAN/VEEGAN protocol).

For samples ``x_i`` and mode centres ``m_k`` (K modes, per-mode std ``s``):

* a sample is high quality (HQ) if it lies within ``3 s`` of its nearest mode;
* a mode is captured if it is the nearest mode of at least one HQ sample;
* reverse KL is ``sum_k p_k log(K p_k)`` where ``p_k`` is the fraction of all samples whose nearest mode is
  ``k`` (KL of the sample histogram from the uniform mode distribution; terms with ``p_k = 0`` are 0).
"""

from __future__ import annotations

import numpy as np


def mode_metrics(samples: np.ndarray, modes: np.ndarray, std: float) -> dict[str, float]:
    samples = np.asarray(samples, np.float64)
    modes = np.asarray(modes, np.float64)
    d2 = np.sum((samples[:, None, :] - modes[None, :, :]) ** 2, axis=-1)
    nearest = np.argmin(d2, axis=1)
    dist = np.sqrt(d2[np.arange(len(samples)), nearest])
    hq = dist <= 3.0 * std
    k = len(modes)
    captured = np.zeros(k, bool)
    captured[nearest[hq]] = True
    p = np.bincount(nearest, minlength=k) / len(samples)
    nz = p > 0
    reverse_kl = float(np.sum(p[nz] * np.log(k * p[nz])))
    return {'modes': float(captured.sum()), 'hq_fraction': float(hq.mean()), 'reverse_kl': reverse_kl}
