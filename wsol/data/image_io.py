"""Decode images into the one array format wsol uses: ``(H, W, 3)`` uint8 RGB."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from wsol.errors import DataError

_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees
_EXIF_ORIENTATION = 0x0112


def read_image(path: str | os.PathLike, expected_size: tuple[int, int] | None = None) -> np.ndarray:
    """Read ``path`` as ``(H, W, 3)`` uint8 RGB, applying its EXIF orientation.

    Grayscale, palette, RGBA (alpha dropped), CMYK and 16-bit images are converted to
    8-bit RGB (16-bit values are divided by 257, so 65535 -> 255). A missing, truncated
    or undecodable file, or a 32-bit float image, raises :class:`DataError` naming it.

    ``expected_size`` is the ``(width, height)`` the annotations were made on. When the
    EXIF-rotated image does not have it but the stored pixels do (annotation tools that
    ignore EXIF, e.g. MATLAB's ``imread``), the stored pixels are returned unrotated so
    that the ground truth stays aligned; any other mismatch raises :class:`DataError`.
    """
    try:
        with Image.open(path) as img:
            img.load()
            oriented = ImageOps.exif_transpose(img)
            if expected_size is not None and oriented.size != tuple(expected_size):
                if img.size != tuple(expected_size):
                    raise DataError(
                        f"image {path} is {oriented.size[0]}x{oriented.size[1]} but its annotation "
                        f"says {expected_size[0]}x{expected_size[1]}"
                    )
                oriented = img
            return _to_rgb8(oriented, path)
    except FileNotFoundError:
        raise DataError(f"image file not found: {path}") from None
    except _DECODE_ERRORS as err:
        raise DataError(f"cannot decode image {path}: {err}") from None


def read_image_size(path: str | os.PathLike, exif: bool = True) -> tuple[int, int]:
    """``(width, height)`` of ``path`` from its header, EXIF-oriented as :func:`read_image`
    orients it (``exif=True``) or as stored (``exif=False``, as :func:`read_map` reads maps)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            if exif and img.getexif().get(_EXIF_ORIENTATION) in _SWAPPING_ORIENTATIONS:
                width, height = height, width
            return width, height
    except FileNotFoundError:
        raise DataError(f"image file not found: {path}") from None
    except _DECODE_ERRORS as err:
        raise DataError(f"cannot decode image {path}: {err}") from None


def read_map(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel map (mask, label PNG, fixation map) as ``(H, W)`` uint8.

    Palette images keep their indices (PASCAL VOC label PNGs); other images are
    converted to 8-bit grayscale. EXIF orientation is ignored: maps are written by
    software, in the frame of the stored pixels.
    """
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("P", "L"):
                return np.array(img, dtype=np.uint8)
            if img.mode.startswith("I;16") or img.mode == "I":
                return _scale16(np.asarray(img))
            return np.array(img.convert("L"), dtype=np.uint8)
    except FileNotFoundError:
        raise DataError(f"map file not found: {path}") from None
    except _DECODE_ERRORS as err:
        raise DataError(f"cannot decode map {path}: {err}") from None


def _scale16(values: np.ndarray) -> np.ndarray:
    return np.clip(np.round(values.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def _to_rgb8(img: Image.Image, path: str | os.PathLike) -> np.ndarray:
    if img.mode.startswith("I;16") or img.mode == "I":
        gray = _scale16(np.asarray(img))
        return np.repeat(gray[..., None], 3, axis=2)
    if img.mode == "F":
        raise DataError(f"image {path} is a 32-bit float image; convert it to 8 or 16 bits")
    return np.array(img.convert("RGB"), dtype=np.uint8)
