"""Building blocks shared by the progressive and style-based generators (ProGAN, StyleGAN 1/2/3).

Equalised learning rate (Karras et al. 2018). Weights are stored as ``N(0, 1 / lr_mul^2)`` draws and
multiplied at run time by ``gain * lr_mul / sqrt(fan_in)`` (He's constant for ``gain = sqrt(2)``), so
every layer's parameters move at the same relative speed under Adam whatever their fan-in. ``lr_mul``
(0.01 in the mapping network) slows a layer down by that factor without changing its function at init.

Mapping and styles (Karras et al. 2019). ``z`` is normalised to unit second moment and mapped by an MLP
to ``w``; each layer of the synthesis network gets its own copy of ``w`` (``ws`` of shape
``(n, num_ws, w_dim)``). Style mixing feeds layers ``[0, cutoff)`` the ``w`` of one latent and the rest
that of another, ``cutoff`` drawn from a key as a traced integer (:func:`mixing_cutoff`), so the compiled
step is the same for every cut-off and a resumed run redraws the same ones. The truncation trick pulls
``w`` towards ``w_avg``, a moving average of the mapped ``w`` the generator keeps in its ``style``
collection (checkpointed with the state, never on the host).

Modulated convolution (Karras et al. 2020). A layer with weight ``W[k, i, o]`` and per-example styles
``s[n, i]`` convolves example ``n`` with ``W'[n] = W * s[n, i]``, demodulated to
``W''[n, k, i, o] = W'[n, k, i, o] / sqrt(sum_{k,i} W'[n, k, i, o]^2 + eps)``. Two forms compute it:

* ``'grouped'``: build every example's weights and run one grouped convolution over the batch
  (``feature_group_count = n``); the reference implementation calls this path ``fused_modconv``;
* ``'fused'`` (the per-example weight fused into the input; the reference's *non*-fused path): scale the
  input instead, ``conv(x * s, W) * d[n, o]``. Exact, because modulation scales the input channels and
  demodulation is a per-(example, output channel) scale of the output; the convolution itself is an
  ordinary one with a shared weight, so it runs on the fast convolution kernels (:func:`conv2d`).

``'auto'`` picks per backend (:data:`AUTO_FORM`): 'fused' on CPU, where benchmarks/modconv_speed.py
measured the grouped convolution ~250x slower (forward + backward of a 3x3 32->32 layer, batch 32 at
32x32: 7.3 s against 29 ms; benchmarks/RESULTS.md, issue 15), XLA's CPU backend running a grouped
convolution as a generic loop. Unmeasured backends also get 'fused': the reference implementation trains
with that form on GPUs and keeps the grouped one for inference. A GPU measurement belongs in the table.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax import lax

from ganjax.errors import ConfigError
from ganjax.models.layers import conv_slices, resolve_impl

MODCONV_FORMS = ('auto', 'grouped', 'fused')
AUTO_FORM = {'cpu': 'fused'}
LRELU_GAIN = math.sqrt(2.0)  # He's gain for leaky ReLU(0.2), rounded as the papers do
_DN = ('NHWC', 'HWIO', 'NHWC')


def resolve_form(form: str, backend: str | None = None) -> str:
    """The concrete modulated-convolution form for ``form`` (``'auto'`` resolves per backend)."""
    if form not in MODCONV_FORMS:
        raise ConfigError(f"unknown style.modconv_form {form!r}; valid: {', '.join(MODCONV_FORMS)}")
    if form != 'auto':
        return form
    return AUTO_FORM.get(backend or jax.default_backend(), 'fused')


def he_scale(fan_in: int, gain: float = 1.0, lr_mul: float = 1.0) -> float:
    """Equalised learning rate's run-time weight multiplier ``gain * lr_mul / sqrt(fan_in)``."""
    return gain * lr_mul / math.sqrt(fan_in)


def lrelu(x: jax.Array) -> jax.Array:
    """Leaky ReLU(0.2) times ``sqrt(2)``, keeping activations' second moment through the layer."""
    return nn.leaky_relu(x, 0.2) * LRELU_GAIN


def conv2d(x: jax.Array, kernel: jax.Array, impl: str = 'auto') -> jax.Array:
    """Stride-1 'SAME' NHWC/HWIO convolution through the lowering ``impl`` resolves to (models/layers.py):
    'slices' or, otherwise, XLA's convolution.

    On CPU ('auto' -> 'slices') this is a trade measured on the stylegan2_fashion recipe
    (benchmarks/modconv_speed.py, benchmarks/RESULTS.md, issue 15): a lone modulated convolution's forward
    and backward ran ~5x faster through XLA's convolution, but the whole iteration, whose R1 and
    path-length terms differentiate the convolutions twice, ran 2x faster through 'slices'.
    """
    kh, kw = kernel.shape[:2]
    pads = [((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)]
    if resolve_impl(impl) == 'slices':
        return conv_slices(x, kernel, (1, 1), pads)
    return lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=_DN)


class EqDense(nn.Module):
    """Dense layer with equalised learning rate (see the module docstring)."""

    features: int
    gain: float = 1.0
    lr_mul: float = 1.0
    bias_init: float = 0.0
    use_bias: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        w = self.param('kernel', nn.initializers.normal(1.0 / self.lr_mul), (x.shape[-1], self.features))
        y = x @ (w * he_scale(x.shape[-1], self.gain, self.lr_mul))
        if self.use_bias:
            b = self.param('bias', nn.initializers.constant(self.bias_init / self.lr_mul), (self.features,))
            y = y + b * self.lr_mul
        return y


class EqConv(nn.Module):
    """Stride-1 'SAME' convolution with equalised learning rate."""

    features: int
    kernel_size: int = 3
    gain: float = 1.0
    use_bias: bool = True
    impl: str = 'auto'

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        k, cin = self.kernel_size, x.shape[-1]
        w = self.param('kernel', nn.initializers.normal(1.0), (k, k, cin, self.features))
        y = conv2d(x, w * he_scale(k * k * cin, self.gain), self.impl)
        if self.use_bias:
            y = y + self.param('bias', nn.initializers.zeros, (self.features,))
        return y


def normalize_2nd_moment(x: jax.Array, axis: int = -1, eps: float = 1e-8) -> jax.Array:
    """``x / sqrt(mean(x^2) + eps)`` over ``axis``: StyleGAN's z normalisation and ProGAN's pixel norm."""
    return x * lax.rsqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True) + eps)


class MappingNetwork(nn.Module):
    """``z -> w``: normalise z, then ``depth`` equalised dense layers at ``lr_mul``."""

    w_dim: int = 512
    depth: int = 8
    lr_mul: float = 0.01

    @nn.compact
    def __call__(self, z: jax.Array) -> jax.Array:
        x = normalize_2nd_moment(z)
        for _ in range(self.depth):
            x = lrelu(EqDense(self.w_dim, lr_mul=self.lr_mul)(x))
        return x


def mixing_cutoff(key: jax.Array, num_ws: int, prob: float) -> jax.Array:
    """A traced int32 cut-off for style mixing: uniform on ``[1, num_ws - 1]`` with probability ``prob``,
    otherwise ``num_ws`` (no mixing). One cut-off per batch, as in the reference implementation."""
    if num_ws < 2:
        return jnp.asarray(num_ws, jnp.int32)
    k_cut, k_on = jax.random.split(key)
    cut = jax.random.randint(k_cut, (), 1, num_ws, dtype=jnp.int32)
    return jnp.where(jax.random.uniform(k_on) < prob, cut, jnp.int32(num_ws))


def mix_styles(w1: jax.Array, w2: jax.Array, num_ws: int, cutoff: jax.Array | int) -> jax.Array:
    """``ws`` of shape ``(n, num_ws, w_dim)``: layers before ``cutoff`` take ``w1``, the others ``w2``."""
    first = (jnp.arange(num_ws) < cutoff)[None, :, None]
    return jnp.where(first, w1[:, None, :], w2[:, None, :])


def truncate(ws: jax.Array, w_avg: jax.Array, psi: float) -> jax.Array:
    """The truncation trick in w: ``w_avg + psi (w - w_avg)``."""
    return ws if psi == 1.0 else w_avg + psi * (ws - w_avg)


class StyleMapping(nn.Module):
    """The mapping network plus the tracked ``w_avg`` (``style`` collection), mixing and truncation.

    Called with ``z`` (and optionally ``z2``, ``cutoff`` for mixing) -> ``ws (n, num_ws, w_dim)``. In
    training mode with the ``style`` collection mutable, ``w_avg`` moves ``1 - w_avg_beta`` of the way to
    the batch mean of ``w`` (of ``z``; the mixing latent is not counted, as in the reference).
    """

    num_ws: int
    w_dim: int = 512
    depth: int = 8
    lr_mul: float = 0.01
    w_avg_beta: float = 0.995
    psi: float = 1.0

    @nn.compact
    def __call__(self, z: jax.Array, z2: jax.Array | None = None, cutoff: jax.Array | int | None = None, *,
                 train: bool = True) -> jax.Array:
        mapping = MappingNetwork(self.w_dim, self.depth, self.lr_mul, name='net')
        w_avg = self.variable('style', 'w_avg', jnp.zeros, (self.w_dim,))
        w = mapping(z)
        if train and self.is_mutable_collection('style') and not self.is_initializing():
            w_avg.value = jnp.mean(w, axis=0) + self.w_avg_beta * (w_avg.value - jnp.mean(w, axis=0))
        w2 = w if z2 is None else mapping(z2)
        ws = mix_styles(w, w2, self.num_ws, self.num_ws if cutoff is None else cutoff)
        return truncate(ws, w_avg.value, self.psi)


class StyleGenerator(nn.Module):
    """A style-based generator: :class:`StyleMapping` to ``ws``, then the synthesis network a subclass
    makes (:meth:`make_synthesis`, a module ``ws -> images``). StyleGAN and StyleGAN2 differ only there.

    ``G(z, cond, train, z2=, cutoff=, ws=)``: ``z2``/``cutoff`` mix styles, ``ws`` skips the mapping;
    :meth:`styles` returns the ``ws`` (for ``apply(..., method='styles')``). ``psi`` truncates towards
    the tracked ``w_avg``: clone the module with another ``psi`` to sample truncated. The synthesis
    takes ``2 log2(R) - 2`` copies of w (two per resolution from 4x4 on).
    """

    image_shape: tuple[int, int, int]
    width: int = 64
    w_dim: int = 512
    mapping_layers: int = 8
    mapping_lr_mul: float = 0.01
    w_avg_beta: float = 0.995
    psi: float = 1.0
    form: str = 'auto'
    impl: str = 'auto'
    cross_example_state = False  # w_avg is a running statistic, but no example's output depends on others

    @property
    def num_ws(self) -> int:
        return 2 * resolution_levels(self.image_shape) + 2

    def make_synthesis(self) -> nn.Module:
        raise NotImplementedError

    def setup(self):
        self.synthesis = self.make_synthesis()
        self.mapping = StyleMapping(self.num_ws, self.w_dim, self.mapping_layers, self.mapping_lr_mul,
                                    self.w_avg_beta, self.psi)

    def __call__(self, z: jax.Array, cond=None, *, train: bool = True, z2: jax.Array | None = None,
                 cutoff: jax.Array | None = None, ws: jax.Array | None = None) -> jax.Array:
        if cond is not None:
            raise ValueError('style-based generators take no conditioning')
        if ws is None:
            ws = self.mapping(z, z2, cutoff, train=train)
        return self.synthesis(ws)

    def styles(self, z: jax.Array, cond=None, *, train: bool = True, z2: jax.Array | None = None,
               cutoff: jax.Array | None = None) -> jax.Array:
        return self.mapping(z, z2, cutoff, train=train)


class NoiseInput(nn.Module):
    """Per-pixel noise times a learned strength (starting at 0), added to a feature map.

    Random (``N(0, 1)`` per example and pixel) when the caller passes a ``'noise'`` PRNG stream (training,
    from the step's key); otherwise one fixed noise image per layer from a key derived from the layer's
    name (the reference implementation's 'const' mode), so inference is deterministic without storing
    buffers.
    """

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        strength = self.param('strength', nn.initializers.zeros, ())
        n, h, w, _ = x.shape
        if self.has_rng('noise'):
            noise = jax.random.normal(self.make_rng('noise'), (n, h, w, 1), x.dtype)
        else:
            seed = sum(ord(ch) * 31**i for i, ch in enumerate('/'.join(self.scope.path))) % (2**31)
            noise = jax.random.normal(jax.random.PRNGKey(seed), (1, h, w, 1), x.dtype)
        return x + strength * noise


def modulated_conv(x: jax.Array, weight: jax.Array, styles: jax.Array, *, demodulate: bool = True,
                   form: str = 'auto', impl: str = 'auto', eps: float = 1e-8) -> jax.Array:
    """Stride-1 'SAME' modulated (and demodulated) convolution of NHWC ``x`` with HWIO ``weight`` (already
    scaled) and per-example ``styles`` of shape ``(n, in)``; see the module docstring for the forms."""
    form = resolve_form(form)
    n, h, w, cin = x.shape
    kh, kw, _, cout = weight.shape
    if form == 'fused':
        y = conv2d(x * styles[:, None, None, :].astype(x.dtype), weight, impl)
        if demodulate:
            d = lax.rsqrt(jnp.square(styles) @ jnp.sum(jnp.square(weight), axis=(0, 1)) + eps)  # (n, out)
            y = y * d[:, None, None, :]
        return y
    wn = weight[None] * styles[:, None, None, :, None]  # (n, kh, kw, in, out)
    if demodulate:
        wn = wn * lax.rsqrt(jnp.sum(jnp.square(wn), axis=(1, 2, 3), keepdims=True) + eps)
    xg = jnp.transpose(x, (1, 2, 0, 3)).reshape(1, h, w, n * cin)
    wg = jnp.transpose(wn, (1, 2, 3, 0, 4)).reshape(kh, kw, cin, n * cout)
    pads = [((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)]
    y = lax.conv_general_dilated(xg, wg, (1, 1), pads, dimension_numbers=_DN, feature_group_count=n)
    return jnp.transpose(y.reshape(h, w, n, cout), (2, 0, 1, 3))


def upsample2x(x: jax.Array) -> jax.Array:
    """2x bilinear upsampling (half-pixel centres: the [1, 3, 3, 1] / 4 filter of the StyleGAN papers)."""
    n, h, w, c = x.shape
    return jax.image.resize(x, (n, 2 * h, 2 * w, c), 'bilinear')


def downsample2x(x: jax.Array) -> jax.Array:
    """2x2 average pooling (a box filter where the papers blur with [1, 3, 3, 1] before striding)."""
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def resolution_levels(image_shape: Sequence[int]) -> int:
    """``log2(resolution) - 2``: the number of 2x stages above 4x4; the image must be square, 2^k >= 8."""
    h, w = image_shape[:2]
    if h != w or h < 8 or h & (h - 1):
        raise ConfigError(f'style-based models need square power-of-two images of at least 8x8, got {h}x{w} '
                          '(set data.image_size, e.g. 32)')
    return int(math.log2(h)) - 2

