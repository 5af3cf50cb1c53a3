"""Decode images into the one array format wsol uses: ``(H, W, 3)`` uint8 RGB."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from wsol.errors import DataError


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read ``path`` as ``(H, W, 3)`` uint8 RGB, applying its EXIF orientation.

    Grayscale, palette, RGBA (alpha dropped), CMYK and 16-bit images are converted to
    8-bit RGB. A missing, truncated or undecodable file raises :class:`DataError` naming it.
    """
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb8(img)
    except FileNotFoundError:
        raise DataError(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"cannot decode image {path}: {err}") from None


def _to_rgb8(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if arr.max(initial=0) > 255 else 255.0
        gray = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        gray = np.clip(arr, 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
