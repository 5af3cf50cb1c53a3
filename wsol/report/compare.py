"""Compare finished runs offline: a metrics table over seeds, threshold curves, the same images side by side.

Each run is read from its evaluation folder (``<run>/eval``, written by training's final
evaluation and by ``tools/eval_loc.py``; for a cascade run, its last kept stage's):
``metrics.json``, and ``overlays/index.json``
with one overlay PNG per image. Runs are grouped by their ``config.yaml`` minus
:data:`NOT_GROUPED` (so seeds of one configuration form a group), or by the values of
the ``group_by`` keys. :func:`write_report` writes ``report.md``, ``report.html``,
``comparison.json`` (the numbers at full precision), ``curves.png`` and ``overlays.png``.
No W&B involved.
"""

from __future__ import annotations

import dataclasses
import html
import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wsol import keys, run_files
from wsol.errors import ConfigError, DataError
from wsol.keys import HEADLINE, split_key
from wsol.report.curves import CURVES, Curve, plot_curves, threshold_curves
from wsol.report.stats import aggregate, is_number, mean_std, numbers
from wsol.run_files import RunDir
from wsol.utils.atomic import atomic_write_text

NOT_GROUPED = ("name", "seed", "output_dir", "wandb")


@dataclass
class Run:
    """One evaluated run: where it is, its flattened config and its ``metrics.json``."""

    path: Path
    eval_dir: Path
    config: dict[str, Any]
    metrics: dict[str, Any]

    def overlay_files(self) -> dict[str, Path]:
        """Image id -> overlay PNG, in evaluation order (empty without overlays)."""
        folder = self.eval_dir / run_files.OVERLAY_DIR
        index = folder / run_files.OVERLAY_INDEX
        if not index.is_file():
            return {}
        return {k: folder / v for k, v in json.loads(index.read_text()).items()}


@dataclass
class Group:
    label: str
    runs: list[Run]

    def values(self, key: str) -> list[float]:
        return numbers([r.metrics for r in self.runs], key)


def load_run(path: Path) -> Run:
    """A run directory (with ``eval/metrics.json``), a cascade run directory (its last kept
    stage's ``eval/``, whose numbers are the cascade's, as its ``summary.json`` says) or an
    evaluation folder (with ``metrics.json``)."""
    eval_dir = evaluation_folder(path)
    metrics_path = eval_dir / run_files.METRICS
    if not metrics_path.is_file():
        raise DataError(f"{path}: no metrics.json (nor eval/metrics.json); evaluate the run first")
    try:
        raw = json.loads(metrics_path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{metrics_path}: invalid JSON ({err})") from None
    candidates = (path / "config.yaml", eval_dir.parent / "config.yaml")
    config_path = next((p for p in candidates if p.is_file()), None)
    config = flatten(yaml.safe_load(config_path.read_text())) if config_path else {"name": raw.get("run", "")}
    return Run(path, eval_dir, config, raw)


def evaluation_folder(path: Path) -> Path:
    """Where the numbers of the run or evaluation folder ``path`` are (see :func:`load_run`)."""
    run = RunDir(path)
    if (run.eval_dir / run_files.METRICS).is_file():
        return run.eval_dir
    if run.summary.is_file() and run.stages():
        kept = json.loads(run.summary.read_text()).get(keys.CASCADE_STAGES)
        if isinstance(kept, int) and kept > 0:
            return run.stage(kept - 1).eval_dir
    return path


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> ``{"a.b.c": value}``; lists become their JSON text (hashable)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = json.dumps(value) if isinstance(value, (list, Mapping)) else value
    return out


def group_runs(runs: Sequence[Run], group_by: Sequence[str] = ()) -> list[Group]:
    """Runs grouped by the ``group_by`` config keys, else by their config minus :data:`NOT_GROUPED`."""
    for key in group_by:
        missing = [str(r.path) for r in runs if key not in r.config]
        if missing:
            raise ConfigError(f"--group-by {key}: not a config key of {missing[0]}")
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault(_group_key(run.config, group_by), []).append(run)
    labels = (
        [", ".join(f"{k}={v}" for k, v in key) for key in groups] if group_by else _labels(list(groups), runs)
    )
    return [Group(label, members) for label, members in zip(labels, groups.values(), strict=True)]


def metrics_table(groups: Sequence[Group], split: str = "test") -> tuple[list[str], list[list[str]]]:
    """Header and rows: group, runs, then ``mean ± std`` of each headline metric any run has."""
    present = [(k, label) for k, label in HEADLINE if any(g.values(split_key(split, k)) for g in groups)]
    header = ["group", "runs", *(label for _, label in present)]
    rows = []
    for group in groups:
        cells = [group.label, str(len(group.runs))]
        for key, label in present:
            stat = mean_std(group.values(split_key(split, key)))
            cells.append(stat.format(".2f" if "(%)" in label else ".3f") if stat else "-")
        rows.append(cells)
    return header, rows


def comparison_curves(groups: Sequence[Group], split: str = "test") -> list[Curve]:
    """Per curve family, each group's main series, from its runs' curves averaged threshold by threshold."""
    per_group = {g.label: {c.spec: c for c in threshold_curves(mean_curves(g), split)} for g in groups}
    out = []
    for spec in CURVES:
        series = {label: _main_series(curves[spec]) for label, curves in per_group.items() if spec in curves}
        if series:
            title = f"{spec.title}, {spec.main}" if spec.main else spec.title
            out.append(Curve(dataclasses.replace(spec, title=title), series))
    return out


def mean_curves(group: Group) -> dict[str, np.ndarray]:
    """The group's array results averaged over its runs, element-wise (NaN where a run has NaN).

    Averaging per threshold also averages precision-recall curves, whose recall values
    differ between runs. Keys whose arrays differ in length between runs are left out.
    """
    out = {}
    for key in {k for r in group.runs for k, v in r.metrics.items() if isinstance(v, list)}:
        arrays = [np.asarray(r.metrics.get(key), dtype=np.float64) for r in group.runs]
        if all(a.ndim == 1 and a.shape == arrays[0].shape for a in arrays):
            out[key] = np.mean(arrays, axis=0)
    return out


def common_images(groups: Sequence[Group], limit: int) -> list[str]:
    """Image ids with an overlay in the first run of every group, in the first group's order."""
    files = [g.runs[0].overlay_files() for g in groups]
    return [i for i in files[0] if all(i in f for f in files[1:])][:limit]


def plot_overlay_grid(groups: Sequence[Group], image_ids: Sequence[str], path: Path) -> Path:
    """Rows: groups (each group's first run); columns: images."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from PIL import Image

    rows, cols = len(groups), len(image_ids)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols + 1.2, 2.0 * rows), squeeze=False)
    for r, group in enumerate(groups):
        files = group.runs[0].overlay_files()
        axes[r, 0].set_ylabel("\n".join(textwrap.wrap(group.label, 20)), fontsize=8)
        for c, image_id in enumerate(image_ids):
            with Image.open(files[image_id]) as picture:
                axes[r, c].imshow(np.asarray(picture.convert("RGB")))
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def write_report(
    run_dirs: Sequence[Path],
    out_dir: Path,
    group_by: Sequence[str] = (),
    split: str = "test",
    max_images: int = 6,
) -> Path:
    """Compare ``run_dirs`` into ``out_dir``; returns the path of ``report.html``."""
    if not run_dirs:
        raise ConfigError("compare: give at least one run directory")
    groups = group_runs([load_run(Path(p)) for p in run_dirs], group_by)
    out_dir.mkdir(parents=True, exist_ok=True)
    header, rows = metrics_table(groups, split)
    figures = []
    curves = comparison_curves(groups, split)
    if curves:
        figures.append(("Threshold curves", plot_curves(curves, out_dir / run_files.CURVES_PNG).name))
    image_ids = common_images(groups, max_images)
    if image_ids:
        grid = plot_overlay_grid(groups, image_ids, out_dir / run_files.OVERLAYS)
        figures.append((f"The same {split} images across groups", grid.name))
    atomic_write_text(out_dir / "comparison.json", json.dumps(_numbers(groups, split), indent=1))
    grouping = f"grouped by {', '.join(group_by)}" if group_by else "grouped by config minus seed"
    intro = (
        f"{sum(len(g.runs) for g in groups)} runs in {len(groups)} groups ({grouping}); "
        f"{split} split; mean ± sample standard deviation over the runs of a group."
    )
    members = [(g.label, [str(r.path) for r in g.runs]) for g in groups]
    (out_dir / "report.md").write_text(_markdown(intro, header, rows, figures, members))
    html_path = out_dir / "report.html"
    html_path.write_text(_html(intro, header, rows, figures, members))
    return html_path


def _group_key(config: Mapping[str, Any], group_by: Sequence[str]) -> tuple:
    if group_by:
        return tuple((k, config[k]) for k in group_by)
    return tuple(sorted((k, v) for k, v in config.items() if k.split(".", 1)[0] not in NOT_GROUPED))


def _labels(keys: Sequence[tuple], runs: Sequence[Run]) -> list[str]:
    """Per group ``k=v`` of the keys whose values differ between groups (one group: its run name)."""
    configs = [dict(key) for key in keys]
    names = dict.fromkeys(k for config in configs for k in config)
    varying = [k for k in names if len({repr(config.get(k)) for config in configs}) > 1]
    if not varying:
        return [str(runs[0].config.get("name", runs[0].path.name))]
    return [", ".join(f"{k}={config[k]}" for k in varying if k in config) for config in configs]


def _main_series(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    return curve.series.get(curve.spec.main) or next(iter(curve.series.values()))


def _numbers(groups: Sequence[Group], split: str) -> list[dict[str, Any]]:
    out = []
    for group in groups:
        records = [r.metrics for r in group.runs]
        found = sorted({k for r in records for k, v in r.items() if is_number(v)})
        stats = {
            k: {**stat.as_json(), "values": numbers(records, k)}
            for k, stat in aggregate(records, found).items()
        }
        out.append({"label": group.label, "runs": [str(r.path) for r in group.runs], "metrics": stats})
    return out


def _markdown(intro, header, rows, figures, members) -> str:
    lines = ["# wsol comparison", "", intro, ""]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    for title, name in figures:
        lines += ["", f"## {title}", "", f"![{title}]({name})"]
    lines += ["", "## Groups", ""]
    lines += [f"- **{label}**: " + ", ".join(f"`{p}`" for p in paths) for label, paths in members]
    return "\n".join(lines) + "\n"


def _html(intro, header, rows, figures, members) -> str:
    e = html.escape
    table = "<tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>\n"
    table += "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>\n" for row in rows)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>wsol comparison</title><style>",
        "body{font-family:sans-serif;margin:16px;max-width:1100px}table{border-collapse:collapse}",
        "td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px}td{text-align:right;white-space:nowrap}",
        "td:first-child{text-align:left}img{max-width:100%}</style></head><body>",
        f"<h1>wsol comparison</h1><p>{e(intro)}</p><table>{table}</table>",
    ]
    parts += [f"<h2>{e(title)}</h2><img src='{e(name)}' alt='{e(title)}'>" for title, name in figures]
    parts.append("<h2>Groups</h2><ul>")
    parts += [f"<li><b>{e(label)}</b>: {e(', '.join(paths))}</li>" for label, paths in members]
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"
