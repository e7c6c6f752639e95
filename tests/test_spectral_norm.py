"""Spectral normalisation (ganjax.models.layers.spectral) against numpy's SVD."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ganjax.models.layers import SPECTRAL, Conv, spectral


class Wrapped(nn.Module):
    layer: nn.Module

    @nn.compact
    def __call__(self, x, train: bool):
        return spectral(self.layer, self, train)(x)


def _run(module, x, steps):
    variables = module.init(jax.random.PRNGKey(0), x, train=False)
    params, cols = variables['params'], {SPECTRAL: variables[SPECTRAL]}
    step = jax.jit(lambda c: module.apply({'params': params, **c}, x, train=True, mutable=[SPECTRAL])[1])
    sigmas = []
    for _ in range(steps):
        cols = step(cols)
        sigmas.append(float(cols[SPECTRAL]['SpectralNorm_0']['layer/kernel/sigma']))
    return params, cols, sigmas


def test_dense_normalised_weight_has_unit_top_singular_value():
    x = jnp.eye(6)  # the layer's output on the identity is its (normalised) weight, plus the bias
    module = Wrapped(nn.Dense(4))
    params, cols, sigmas = _run(module, x, 30)
    kernel = np.asarray(params['layer']['kernel'], np.float64)
    top = np.linalg.svd(kernel, compute_uv=False)[0]
    # the power iteration converges to the top singular value: the stored sigma approaches it
    assert abs(sigmas[0] - top) > abs(sigmas[-1] - top)
    np.testing.assert_allclose(sigmas[-1], top, rtol=1e-4)
    # inference uses the stored vector: the weight the layer applies is kernel / sigma, spectral norm 1
    out = module.apply({'params': params, **cols}, x, train=False)
    applied = np.asarray(out - params['layer']['bias'], np.float64)
    np.testing.assert_allclose(np.linalg.svd(applied, compute_uv=False)[0], 1.0, rtol=1e-4)
    # and a read-only call leaves the stored vectors alone
    _, again = module.apply({'params': params, **cols}, x, train=True, mutable=[])
    assert again == {}


def test_conv_kernel_is_normalised_as_its_matrix():
    """A (kh, kw, in, out) kernel is normalised as the (kh*kw*in, out) matrix it multiplies patches by."""
    module = Wrapped(Conv(5, (3, 3), (1, 1), padding=((1, 1), (1, 1))))
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 6, 6, 3))
    params, _, sigmas = _run(module, x, 40)
    kernel = np.asarray(params['layer']['kernel'], np.float64).reshape(-1, 5)
    np.testing.assert_allclose(sigmas[-1], np.linalg.svd(kernel, compute_uv=False)[0], rtol=1e-4)
