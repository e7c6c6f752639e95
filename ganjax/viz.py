"""Pictures of samples, drawn with Pillow alone (no plotting library needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[-1, 1] float images -> uint8 in [0, 255] (rounded, clipped)."""
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images: np.ndarray, max_images: int = 64, cols: int = 0) -> np.ndarray:
    """Tile uint8 NHWC images into one RGB grid with 2-pixel gaps, ``cols`` wide (0: near-square)."""
    images = images[:max_images]
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + 2) + 2, cols * (w + 2) + 2, c), 255, np.uint8)
    for i, img in enumerate(images):
        r, q = divmod(i, cols)
        grid[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + q * (w + 2):2 + q * (w + 2) + w] = img
    return grid


def save_image_grid(path: str | Path, images_uint8: np.ndarray, scale: int = 0, max_images: int = 64,
                    cols: int = 0) -> None:
    grid = Image.fromarray(image_grid(images_uint8, max_images, cols))
    scale = scale or max(1, 512 // max(grid.size))
    grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST).save(path)


def save_scatter(path: str | Path, samples: np.ndarray, real: np.ndarray | None = None,
                 modes: np.ndarray | None = None, size: int = 600) -> None:
    """Scatter plot of 2-D samples (blue) over real data (grey) and mode centres (red crosses)."""
    scatter_image(samples, real, modes, size).save(path)


def scatter_image(samples: np.ndarray, real: np.ndarray | None = None, modes: np.ndarray | None = None,
                  size: int = 600) -> Image.Image:
    """The picture :func:`save_scatter` saves, as a Pillow image (TensorBoard takes it as an array)."""
    pts = [p for p in (samples, real, modes) if p is not None]
    everything = np.concatenate(pts)
    lo = np.percentile(everything, 0.5, axis=0)
    hi = np.percentile(everything, 99.5, axis=0)
    if modes is not None:
        lo, hi = np.minimum(lo, modes.min(0)), np.maximum(hi, modes.max(0))
    pad = 0.1 * (hi - lo).max() + 1e-6
    lo, hi = lo - pad, hi + pad
    span = (hi - lo).max()
    img = Image.new('RGB', (size, size), 'white')
    draw = ImageDraw.Draw(img)

    def px(p):
        return (size * (p[0] - lo[0]) / span, size * (1 - (p[1] - lo[1]) / span))

    for arr, colour, r in ((real, (190, 190, 190), 1), (samples, (31, 90, 200), 1)):
        if arr is None:
            continue
        for p in arr:
            x, y = px(p)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    if modes is not None:
        for p in modes:
            x, y = px(p)
            draw.line((x - 5, y, x + 5, y), fill=(210, 30, 30), width=2)
            draw.line((x, y - 5, x, y + 5), fill=(210, 30, 30), width=2)
    return img


def save_gif(path: str | Path, frames: np.ndarray, size: int = 256, frame_ms: int = 80) -> None:
    """An endlessly looping animated GIF of uint8 NHWC ``frames``, scaled up (nearest) to about ``size``
    pixels on the long side so that 28x28 digits are visible."""
    frames = np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames
    scale = max(1, size // max(frames.shape[1:3]))
    images = [Image.fromarray(f).resize((f.shape[1] * scale, f.shape[0] * scale), Image.NEAREST) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
