"""The clovaai/wsolevaluation metadata layout: parse and write its text files.

wsolevaluation (https://github.com/clovaai/wsolevaluation, ``data_loaders.py``) keeps one
folder of comma-separated text files per split, every line keyed by the image's path
relative to the image root (its *image id*)::

    image_ids.txt     <path>                          one line per image, in split order
    class_labels.txt  <path>,<label>
    image_sizes.txt   <path>,<w>,<h>                  (optional; absent for OpenImages test)
    localization.txt  <path>,<x0>,<y0>,<x1>,<y1>      boxes, inclusive, one line per box
                  or  <path>,<mask>,<ignore>          OpenImages masks: one line per instance;
                                                      only an image's first line names its
                                                      ignore mask, later lines leave it empty

wsol adds files next to them for ground truth that the standard files cannot hold at the
same time, so that the standard files stay readable by wsolevaluation itself:

    masks.txt         <path>,<mask>,<ignore>          the mask-line format above, for splits
                                                      whose localization.txt holds boxes
    parts.txt         <path>,<part_name>,<mask>       one binary mask per named part
    fixations.txt     <path>,<x>,<y>,<observer>       0-based pixel coordinates; observer id
    ../class_names.txt                                one name per line, line k = class k

Mask paths are relative to the mask root; masks are images whose nonzero pixels are set
(wsolevaluation's ``> 0.5`` after reading as grayscale). Parsing is strict: a malformed
line, a duplicate image id, a line naming an image not in ``image_ids.txt`` or an image
with no class label raises :class:`~wsol.errors.DataError` naming ``file:line``. Optional
files that are missing or blank are treated alike (wsolevaluation ships blank ones).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wsol.errors import DataError

IMAGE_IDS = "image_ids.txt"
CLASS_LABELS = "class_labels.txt"
IMAGE_SIZES = "image_sizes.txt"
LOCALIZATION = "localization.txt"
MASKS = "masks.txt"
PARTS = "parts.txt"
FIXATIONS = "fixations.txt"
CLASS_NAMES = "class_names.txt"


@dataclass
class ImageRecord:
    """Everything the metadata files say about one image (no pixels, paths unresolved).

    Attributes:
        image_id: path of the image relative to the image root.
        label: class index.
        size: ``(width, height)`` from ``image_sizes.txt``, or None if the split has none.
        boxes: ``[x0, y0, x1, y1]`` inclusive pixel boxes.
        box_lines: ``"<localization.txt path>:<line>"`` of each box, for messages.
        mask_paths: instance mask paths (relative to the mask root).
        ignore_path: ignore-region mask path, ``""`` if none.
        part_paths: part name -> mask path.
        fixations: ``(x, y, observer)`` 0-based fixation points.
    """

    image_id: str
    label: int
    size: tuple[int, int] | None = None
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    box_lines: list[str] = field(default_factory=list, compare=False, repr=False)
    mask_paths: list[str] = field(default_factory=list)
    ignore_path: str = ""
    part_paths: dict[str, str] = field(default_factory=dict)
    fixations: list[tuple[float, float, int]] = field(default_factory=list)


@dataclass
class SplitMetadata:
    """The parsed metadata of one split: records in ``image_ids.txt`` order."""

    records: list[ImageRecord]
    ground_truth: frozenset[str]


def read_split_metadata(metadata_dir: str | os.PathLike) -> SplitMetadata:
    """Parse the metadata folder of one split (see the module docstring)."""
    folder = Path(metadata_dir)
    if not folder.is_dir():
        raise DataError(f"wsoleval metadata folder not found: {folder}")
    records = _read_image_ids(folder / IMAGE_IDS)
    by_id = {r.image_id: r for r in records}
    _read_class_labels(folder / CLASS_LABELS, by_id)
    kinds: set[str] = set()
    if _has_lines(folder / IMAGE_SIZES):
        _read_sizes(folder / IMAGE_SIZES, by_id)
    if _has_lines(folder / LOCALIZATION):
        kinds.add(_read_localization(folder / LOCALIZATION, by_id))
    if _has_lines(folder / MASKS):
        if "masks" in kinds:
            raise DataError(f"{folder}: both {LOCALIZATION} and {MASKS} hold masks; keep one")
        _read_masks(folder / MASKS, by_id)
        kinds.add("masks")
    if _has_lines(folder / PARTS):
        _read_parts(folder / PARTS, by_id)
        kinds.add("parts")
    if _has_lines(folder / FIXATIONS):
        _read_fixations(folder / FIXATIONS, by_id)
        kinds.add("fixations")
    return SplitMetadata(records, frozenset(kinds))


def read_class_names(metadata_root: str | os.PathLike) -> list[str] | None:
    """Class names from ``<metadata_root>/class_names.txt``, or None if it is absent."""
    path = Path(metadata_root) / CLASS_NAMES
    if not path.is_file():
        return None
    return [line for _, line in _lines(path)]


def write_split_metadata(metadata_dir: str | os.PathLike, records: Sequence[ImageRecord]) -> None:
    """Write ``records`` as one split's metadata folder.

    Boxes go to ``localization.txt``; masks go there too if no record has boxes, else to
    ``masks.txt``. Optional files are written only if some record has that ground truth,
    ``image_sizes.txt`` only if every record has a size. Numbers that are integers are
    written without a decimal point (wsolevaluation parses boxes and sizes with ``int``).
    """
    folder = Path(metadata_dir)
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / IMAGE_IDS, ([r.image_id] for r in records))
    _write(folder / CLASS_LABELS, ([r.image_id, r.label] for r in records))
    if records and all(r.size is not None for r in records):
        _write(folder / IMAGE_SIZES, ([r.image_id, *r.size] for r in records))
    has_boxes = any(r.boxes for r in records)
    if has_boxes:
        _write(folder / LOCALIZATION, ([r.image_id, *box] for r in records for box in r.boxes))
    if any(r.mask_paths for r in records):
        _write(folder / (MASKS if has_boxes else LOCALIZATION), _mask_rows(records))
    if any(r.part_paths for r in records):
        rows = ([r.image_id, name, path] for r in records for name, path in r.part_paths.items())
        _write(folder / PARTS, rows)
    if any(r.fixations for r in records):
        _write(folder / FIXATIONS, ([r.image_id, *fix] for r in records for fix in r.fixations))


def write_class_names(metadata_root: str | os.PathLike, names: Iterable[str]) -> None:
    """Write ``<metadata_root>/class_names.txt``."""
    Path(metadata_root).mkdir(parents=True, exist_ok=True)
    _write(Path(metadata_root) / CLASS_NAMES, ([n] for n in names))


# -- parsing -----------------------------------------------------------------------------


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    """``(line_number, text)`` of the non-blank lines of ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"wsoleval metadata file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read wsoleval metadata file {path}: {err}") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line.rstrip("\r")


def _has_lines(path: Path) -> bool:
    """Whether the optional file ``path`` exists and is not blank (wsolevaluation ships
    empty ``image_sizes.txt`` and ``localization.txt`` files for some OpenImages splits)."""
    return path.is_file() and any(True for _ in _lines(path))


def _rows(path: Path, fields: str, by_id: dict[str, ImageRecord]) -> Iterable[tuple[str, list[str]]]:
    """``(where, values)`` per line of ``path``, whose format is ``<path>,`` + ``fields``."""
    expected = 1 + fields.count(",") + 1
    for number, line in _lines(path):
        where = f"{path}:{number}"
        values = line.split(",")
        if len(values) != expected:
            raise DataError(f"{where}: expected '<path>,{fields}', got {line!r}")
        if values[0] not in by_id:
            raise DataError(f"{where}: image {values[0]!r} is not listed in {IMAGE_IDS}")
        yield where, values


def _number(text: str, where: str, cast: Callable[[str], float | int] = float) -> float:
    try:
        value = cast(text)
    except ValueError:
        raise DataError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: {text!r} is not a finite number")
    return value


def _read_image_ids(path: Path) -> list[ImageRecord]:
    records: dict[str, ImageRecord] = {}
    for number, line in _lines(path):
        if "," in line:
            raise DataError(f"{path}:{number}: expected one image path per line, got {line!r}")
        if line in records:
            raise DataError(f"{path}:{number}: image {line!r} is listed twice")
        records[line] = ImageRecord(image_id=line, label=-1)
    return list(records.values())


def _read_class_labels(path: Path, by_id: dict[str, ImageRecord]) -> None:
    for where, (image_id, label) in _rows(path, "<label>", by_id):
        value = int(_number(label, where, int))
        if value < 0:
            raise DataError(f"{where}: class label {value} is negative")
        by_id[image_id].label = value
    for record in by_id.values():
        if record.label < 0:
            raise DataError(f"{path}: image {record.image_id!r} has no class label")


def _read_sizes(path: Path, by_id: dict[str, ImageRecord]) -> None:
    for where, (image_id, w, h) in _rows(path, "<w>,<h>", by_id):
        width, height = int(_number(w, where, int)), int(_number(h, where, int))
        if width <= 0 or height <= 0:
            raise DataError(f"{where}: image size {width}x{height} is not positive")
        by_id[image_id].size = (width, height)
    for record in by_id.values():
        if record.size is None:
            raise DataError(f"{path}: image {record.image_id!r} has no size")


def _read_localization(path: Path, by_id: dict[str, ImageRecord]) -> str:
    """Read boxes or masks, whichever the first line's field count says; return the kind."""
    first = next(iter(_lines(path)), (0, ""))[1]
    if first.count(",") == 2:
        _read_masks(path, by_id)
        return "masks"
    for where, (image_id, *coords) in _rows(path, "<x0>,<y0>,<x1>,<y1>", by_id):
        x0, y0, x1, y1 = (_number(c, where) for c in coords)
        if not (0 <= x0 <= x1 and 0 <= y0 <= y1):
            raise DataError(f"{where}: box {coords} is not 0 <= x0 <= x1, 0 <= y0 <= y1")
        by_id[image_id].boxes.append((x0, y0, x1, y1))
        by_id[image_id].box_lines.append(where)
    _require_all(path, by_id, lambda r: bool(r.boxes), "boxes")
    return "boxes"


def _read_masks(path: Path, by_id: dict[str, ImageRecord]) -> None:
    for where, (image_id, mask, ignore) in _rows(path, "<mask>,<ignore>", by_id):
        record = by_id[image_id]
        if not mask:
            raise DataError(f"{where}: empty mask path")
        if ignore and record.mask_paths:
            raise DataError(f"{where}: only the first mask line of {image_id!r} may name an ignore mask")
        record.mask_paths.append(mask)
        record.ignore_path = record.ignore_path or ignore
    _require_all(path, by_id, lambda r: bool(r.mask_paths), "masks")


def _read_parts(path: Path, by_id: dict[str, ImageRecord]) -> None:
    for where, (image_id, name, mask) in _rows(path, "<part_name>,<mask>", by_id):
        parts = by_id[image_id].part_paths
        if not name or not mask:
            raise DataError(f"{where}: empty part name or mask path")
        if name in parts:
            raise DataError(f"{where}: part {name!r} of {image_id!r} is listed twice")
        parts[name] = mask


def _read_fixations(path: Path, by_id: dict[str, ImageRecord]) -> None:
    for where, (image_id, x, y, observer) in _rows(path, "<x>,<y>,<observer>", by_id):
        point = (_number(x, where), _number(y, where), int(_number(observer, where, int)))
        by_id[image_id].fixations.append(point)


def _require_all(
    path: Path, by_id: dict[str, ImageRecord], has: Callable[[ImageRecord], bool], what: str
) -> None:
    for record in by_id.values():
        if not has(record):
            raise DataError(f"{path}: image {record.image_id!r} has no {what}")


# -- writing -----------------------------------------------------------------------------


def _mask_rows(records: Sequence[ImageRecord]) -> Iterable[list[object]]:
    for r in records:
        for i, mask in enumerate(r.mask_paths):
            yield [r.image_id, mask, r.ignore_path if i == 0 else ""]


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if isinstance(value, str) and ("," in text or "\n" in text):
        raise DataError(f"cannot write {text!r} to a wsoleval metadata file: it contains ',' or a newline")
    return text


def _write(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """Write comma-joined rows atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(",".join(_text(v) for v in row) + "\n")
    os.replace(tmp, path)
