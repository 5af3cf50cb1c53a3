"""Train configs over seeds and tabulate their test numbers into a section of docs/results.md.

Run from the repository root; the tables of docs/results.md come from::

    python benchmarks/results.py configs/synthparts/{cam,ae,acol,has,adl,eil}.yaml \\
        --seeds 0 1 2 --set optim.epochs=3 eval.every_n_epochs=0 --group erasing --title "Erasing methods"
    python benchmarks/results.py configs/synthparts/{cam,ltpa,se,cbam,bam,sk}.yaml \\
        configs/synthparts/{stn,glimpse,residual_attention}.yaml \\
        --seeds 0 1 2 --set optim.epochs=4 eval.every_n_epochs=0 --group heads --title "Attention heads"
    python benchmarks/results.py configs/synthparts/{bas,bridgegap,pc1,psol,tscam}.yaml \\
        --seeds 0 1 2 --set optim.epochs=3 eval.every_n_epochs=0 --group modern --title "Methods 2020-2024"

The context-bias section (issue 16) trains at co-occurrence 0 and 0.9 and scores every run
again on a *probe* copy of the test images in which each image shows its class's context
band (``--probe``: overrides of that evaluation; its numbers become ``probe: ...`` columns)::

    PROBE="data.dataset.context_share=0.0 data.dataset.context_eval_share=1.0 data.dataset.num_train=0"
    for share in 0.0 0.9; do
      python benchmarks/results.py configs/synthparts/{cam,ae,acol,has,adl,eil}.yaml \\
          --seeds 0 1 2 --set optim.epochs=2 eval.every_n_epochs=0 data.dataset.num_train=3000 \\
          data.dataset.num_val=500 data.dataset.context_share=$share \\
          --probe $PROBE --group context_$share --title "Context bias, co-occurrence $share"
    done

Each (config, seed) trains sequentially through :func:`wsol.engine.train` as
``<output_dir>/<group>/<config stem>/seed_<seed>/`` (W&B group ``<group>``); a run that
already has a ``summary.json`` is not retrained, and an interrupted one resumes. The
table (one row per config: mean +- sample std over seeds of the test numbers) replaces
the ``<group>`` section of the results file, between its markers, leaving the rest of
the file alone; the aggregate is also logged as one W&B run of the group.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script without installing wsol
    sys.path.insert(0, str(ROOT))

from wsol import keys, run_files  # noqa: E402
from wsol.config import RunConfig, load_config  # noqa: E402
from wsol.report.stats import MeanStd, aggregate, is_number  # noqa: E402
from wsol.run_files import RunDir  # noqa: E402

SPLIT = "test"
HEADLINE_KEYS = (keys.TOP1, "maxboxacc_v2", "pxap", keys.TOP1_LOC, "auc_judd")
PROBE = "probe"  # a run's probe evaluation: folder eval_probe, summary keys "probe/test/<key>"
PROBE_KEYS = (keys.TOP1, "maxboxacc_v2")


def seed_config(config: Path, seed: int, overrides: Sequence[str], group: str) -> RunConfig:
    """``config`` with ``overrides``, run as ``<group>/<config stem>/seed_<seed>``."""
    names = [f"seed={seed}", f"name={group}/{config.stem}/seed_{seed}", f"wandb.group={group}"]
    return load_config(config, [*overrides, *names])


def run_dir(cfg: RunConfig) -> RunDir:
    """Where the run of ``cfg`` lives."""
    return RunDir.of(cfg.output_dir, cfg.name)


def run_config(cfg: RunConfig, progress: bool = True, probe: Sequence[str] | None = None) -> dict[str, Any]:
    """Train ``cfg`` (unless already done, resuming if interrupted) and return its summary.

    With ``probe`` (config overrides), the summary also holds the test numbers of
    :func:`probe_run` as ``probe/test/<key>``.
    """
    from wsol.engine import train

    run = run_dir(cfg)
    if not run.summary.exists():
        train(cfg, resume=run.config.exists(), progress=progress)
    summary = json.loads(run.summary.read_text())
    if probe is not None:
        summary.update(probe_run(cfg, summary, probe, progress))
    return summary


def probe_run(
    cfg: RunConfig, summary: dict[str, Any], overrides: Sequence[str], progress: bool
) -> dict[str, Any]:
    """Test numbers of the run's evaluated checkpoint on the data ``overrides`` describe.

    The evaluation (``tools/eval_loc.py checkpoint`` with ``overrides``) goes to
    ``eval_probe/`` beside the run's (or its last cascade stage's) ``eval/`` and is reused
    when it exists. Keys: ``probe/test/<key>``, numbers only.
    """
    from wsol.checkpoints.files import evaluated_path
    from wsol.evaluation.from_checkpoint import CheckpointEval, evaluate_checkpoint

    evaluated = RunDir(evaluated_dir(run_dir(cfg).root, summary))
    out = evaluated.root / f"{run_files.EVAL}_{PROBE}"
    if not (out / run_files.METRICS).exists():
        checkpoint = evaluated_path(evaluated.checkpoints, cfg.eval.checkpoint)
        evaluate_checkpoint(CheckpointEval(checkpoint, list(overrides), out_dir=out, progress=progress))
    values = json.loads((out / run_files.METRICS).read_text())
    prefix = keys.split_key(SPLIT, "")
    return {f"{PROBE}/{k}": v for k, v in values.items() if k.startswith(prefix) and is_number(v)}


def columns(summaries: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(summary key, label)`` of the table's columns: headline numbers, then the diagnostic."""
    headline = [(keys.split_key(SPLIT, k), keys.HEADLINE_LABELS[k]) for k in HEADLINE_KEYS]
    prefix = keys.split_key(SPLIT, keys.DIAGNOSTIC_PREFIX)
    partial = sorted({k for s in summaries for k in s if k.startswith(prefix)})
    cols = headline + [(k, f"partial: {k[len(prefix) :]}") for k in partial]
    probe_prefix = f"{PROBE}/{keys.split_key(SPLIT, keys.CONTEXT_PREFIX)}"
    if any(k.startswith(f"{PROBE}/") for s in summaries for k in s):
        cols += [
            (f"{PROBE}/{keys.split_key(SPLIT, k)}", f"probe: {keys.HEADLINE_LABELS[k]}") for k in PROBE_KEYS
        ]
        context = sorted({k for s in summaries for k in s if k.startswith(probe_prefix)})
        cols += [(k, f"probe: {k[len(f'{PROBE}/{SPLIT}/') :]}") for k in context]
    return cols


def build_table(rows: dict[str, Sequence[dict[str, Any]]]) -> str:
    """Markdown table: one row per name, ``mean ± std`` of every column over its summaries."""
    cols = columns([s for summaries in rows.values() for s in summaries])
    lines = [
        "| config | runs | " + " | ".join(label for _, label in cols) + " |",
        "|---|---:|" + "---:|" * len(cols),
    ]
    for name, summaries in rows.items():
        stats = aggregate(summaries, [k for k, _ in cols])
        cells = [_cell(stats.get(k), 2 if "(%)" in label else 3) for k, label in cols]
        lines.append(f"| {name} | {len(summaries)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with the marked section ``name`` replaced by ``body`` (appended if absent)."""
    begin = f"<!-- BEGIN {name} (generated by benchmarks/results.py; edits are overwritten) -->"
    end = f"<!-- END {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    start, stop = text.find(begin), text.find(end)
    if start >= 0 and stop > start:
        return text[:start] + block + text[stop + len(end) :]
    if start >= 0 or stop >= 0:
        raise ValueError(f"results file: unmatched markers of section {name!r}")
    return (text.rstrip() + "\n\n" if text.strip() else "") + block + "\n"


def section_body(
    rows: dict[str, Sequence[dict[str, Any]]],
    cfg: RunConfig,
    seeds: Sequence[int],
    settings: Sequence[str],
    title: str,
) -> str:
    """Heading, settings (the runs' overrides and options) and table of the results section."""
    described = ", ".join([f"seeds {', '.join(map(str, seeds))}", *settings])
    return "\n".join(
        [
            f"## {title} on {cfg.data.dataset.get('name')} ({cfg.model.backbone.name})",
            "",
            f"Test split, mean ± sample std over seeds ({described}). Generated by `benchmarks/results.py`.",
            "",
            build_table(rows),
        ]
    )


def evaluated_dir(run_dir: Path, summary: dict[str, Any]) -> Path:
    """Where the run's evaluation lives: the run itself, or a cascade's last kept stage."""
    stages = summary.get(keys.CASCADE_STAGES)
    return RunDir(run_dir).stage(int(stages) - 1).root if is_number(stages) else run_dir


def overlay_figure(run_dirs: dict[str, Path], path: Path, images: int = 6) -> Path | None:
    """The same test images' overlays, one row per config (None if the runs saved no overlays)."""
    from PIL import Image

    from wsol.report.compare import Group, common_images, load_run, plot_overlay_grid

    missing = [str(d) for d in run_dirs.values() if not (RunDir(d).eval_dir / run_files.METRICS).is_file()]
    if missing:
        print(f"no overlay figure: {missing[0]} has no {run_files.EVAL}/{run_files.METRICS}", file=sys.stderr)
        return None
    groups = [Group(name, [load_run(d)]) for name, d in run_dirs.items()]
    image_ids = common_images(groups, images)
    if not image_ids:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    plot_overlay_grid(groups, image_ids, path)
    with Image.open(path) as figure:  # a 256-colour palette keeps the committed PNG small
        palette = figure.convert("RGB").quantize(colors=256)
    palette.save(path, optimize=True)
    return path


def log_group(rows: dict[str, Sequence[dict[str, Any]]], cfg: RunConfig, group: str) -> None:
    """Log the aggregate as one run (job type ``benchmark``) of the W&B group ``group``."""
    from wsol.report.tracking import RunTracker

    tracker = RunTracker(cfg, Path(cfg.output_dir) / group, job_type="benchmark")
    flat: dict[str, float] = {}
    for name, summaries in rows.items():
        cols = [k for k, _ in columns(summaries)]
        for key, stat in aggregate(summaries, cols).items():
            flat.update(
                {f"{name}/{key}/mean": stat.mean, f"{name}/{key}/std": stat.std, f"{name}/{key}/runs": stat.n}
            )
    tracker.summary(flat)
    tracker.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("configs", nargs="+", type=Path, help="configs to train (one table row each)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], help="overrides for every run")
    parser.add_argument("--group", default="erasing", help="run folder, W&B group and results section")
    parser.add_argument("--title", default="Erasing methods", help="heading of the results section")
    parser.add_argument("--results", type=Path, default=ROOT / "docs" / "results.md")
    parser.add_argument(
        "--probe",
        nargs="+",
        default=None,
        help="also evaluate every run with these overrides (eval_probe/; probe columns)",
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    progress = not args.no_progress
    runs = {c.stem: [seed_config(c, s, args.overrides, args.group) for s in args.seeds] for c in args.configs}
    rows = {stem: [run_config(cfg, progress, args.probe) for cfg in cfgs] for stem, cfgs in runs.items()}
    cfg = load_config(args.configs[0], [*args.overrides, f"name={args.group}", f"wandb.group={args.group}"])
    settings = [*args.overrides, *([f"probe: {' '.join(args.probe)}"] if args.probe else [])]
    body = section_body(rows, cfg, args.seeds, settings, args.title)
    first_runs = {stem: evaluated_dir(run_dir(cfgs[0]).root, rows[stem][0]) for stem, cfgs in runs.items()}
    figure = overlay_figure(first_runs, args.results.parent / "images" / f"results_{args.group}.png")
    if figure is not None:
        link = figure.relative_to(args.results.parent).as_posix()
        body += f"\n\nTest overlays of seed {args.seeds[0]}, one row per config:\n\n![{args.title}]({link})"
    old = args.results.read_text() if args.results.exists() else ""
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(replace_section(old, args.group, body))
    log_group(rows, cfg, args.group)
    print(body)
    return 0


def _cell(stat: MeanStd | None, digits: int) -> str:
    return "–" if stat is None else stat.format(f".{digits}f")


if __name__ == "__main__":
    from wsol.cli import run_cli

    sys.exit(run_cli(main))
