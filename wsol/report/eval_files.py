"""Names of the files in an evaluation folder (``<run>/eval``), for its writers and readers."""

METRICS = "metrics.json"  # every number and curve, keys "<split>/<result key>"
PER_IMAGE = "per_image.csv"  # one row per test image
OVERLAYS = "overlays.png"  # grid of heatmap overlays
OVERLAY_DIR = "overlays"  # the same overlays one PNG per image ...
OVERLAY_INDEX = "index.json"  # ... and image id -> file name
CURVES_PNG = "curves.png"  # threshold curves
