"""Draw a grid of SynthParts examples with their ground truth (the figure of docs/synthparts.md).

Each example is shown twice: as generated, and with the object mask outline (white), the
cue part (magenta), the boxes (green) and the simulated fixations (yellow dots).

    python tools/show_synthparts.py --out docs/synthparts_examples.png

Images depend only on ``(seed, split, index)``, so the first ``--num`` images of a split
are rendered by generating a config with just those images; they equal the first images
of the default (6k/1k/1k) dataset with the same seed and image size.
"""

from __future__ import annotations

import argparse
import tempfile

import cv2
import numpy as np
from PIL import Image

from wsol.data.datasets import DATASETS
from wsol.data.sample import Sample

SCALE = 2
MAGENTA, GREEN, WHITE, YELLOW = (255, 0, 255), (0, 220, 0), (255, 255, 255), (255, 230, 0)


def annotate(sample: Sample) -> np.ndarray:
    """The image, upscaled by :data:`SCALE`, with its ground truth drawn on it (RGB)."""
    image = cv2.resize(sample.image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    out = image.copy()
    cue = cv2.resize(sample.part_masks["cue"], None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST) > 0
    out[cue] = (0.4 * out[cue] + 0.6 * np.array(MAGENTA)).astype(np.uint8)
    mask = cv2.resize(sample.mask, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_NEAREST)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, WHITE, 1)
    for x0, y0, x1, y1 in sample.boxes.astype(int):
        cv2.rectangle(
            out, (x0 * SCALE, y0 * SCALE), (x1 * SCALE + SCALE - 1, y1 * SCALE + SCALE - 1), GREEN, 1
        )
    for x, y in sample.fixations.astype(int):
        centre = (x * SCALE + SCALE // 2, y * SCALE + SCALE // 2)
        cv2.circle(out, centre, 3, (0, 0, 0), -1)
        cv2.circle(out, centre, 2, YELLOW, -1)
    return np.concatenate([image, out], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/synthparts_examples.png")
    parser.add_argument("--split", default="val", choices=("train", "val", "test"))
    parser.add_argument("--num", type=int, default=12, help="examples (a multiple of --columns)")
    parser.add_argument("--columns", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--colours", type=int, default=256, help="palette size of the PNG (0: full RGB)")
    args = parser.parse_args()
    sizes = {f"num_{s}": args.num if s == args.split else 0 for s in ("train", "val", "test")}
    with tempfile.TemporaryDirectory() as root:
        spec = {"name": "synthparts", "root": root, "seed": args.seed, **sizes}
        dataset = DATASETS.build(spec, split=args.split)
        tiles = [annotate(dataset.load_sample(i)) for i in range(args.num)]
    rows = [np.concatenate(tiles[i : i + args.columns], axis=1) for i in range(0, args.num, args.columns)]
    grid = Image.fromarray(np.concatenate(rows, axis=0))
    if args.colours:
        grid = grid.quantize(args.colours, dither=Image.Dither.NONE)
    grid.save(args.out, optimize=True)
    print(f"wrote {args.out} ({grid.size[0]}x{grid.size[1]})")


if __name__ == "__main__":
    main()
