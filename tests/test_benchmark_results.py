"""benchmarks/results.py: aggregation over seeds, the Markdown table and the results-file section."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from wsol.report.stats import aggregate

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("results_benchmark", ROOT / "benchmarks" / "results.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

FAKE = {
    "cam": [
        {"test/top1": 80.0, "test/maxboxacc_v2": 50.0, "test/partial/cue_share": 0.6, "val/top1": 1.0},
        {"test/top1": 82.0, "test/maxboxacc_v2": 56.0, "test/partial/cue_share": 0.5},
    ],
    "acol": [{"test/top1": 70.0, "test/pxap": "NaN", "test/partial/cue_share": 0.25}],
}


def test_aggregate_mean_sample_std_and_skips_non_numbers():
    stats = aggregate([*FAKE["cam"], {"test/top1": None}], ["test/top1", "test/pxap"])
    top1 = stats["test/top1"]
    assert (top1.mean, top1.n) == (81.0, 2) and top1.std == pytest.approx(2**0.5)
    assert "test/pxap" not in stats


def test_one_run_has_an_undefined_std_in_the_results_table_and_the_comparison(tmp_path):
    """benchmarks/results.py and tools/compare.py share one aggregation (no NaN-vs-0.0 split)."""
    from wsol.report.compare import Group, Run, _numbers

    run = Run(tmp_path, tmp_path, {"name": "acol"}, FAKE["acol"][0])
    compared = _numbers([Group("acol", [run])], "test")[0]["metrics"]["test/top1"]
    assert compared == {"mean": 70.0, "std": None, "runs": 1, "values": [70.0]}
    stat = aggregate(FAKE["acol"], ["test/top1"])["test/top1"]
    assert stat.as_json() == {"mean": 70.0, "std": None, "runs": 1}


def test_build_table_rows_columns_and_cells():
    lines = bench.build_table(FAKE).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == [
        "config",
        "runs",
        "top-1 cls (%)",
        "MaxBoxAccV2 (%)",
        "PxAP (%)",
        "top-1 loc (%)",
        "AUC-Judd",
        "partial: cue_share",
    ]
    assert lines[1].count("|") == len(header) + 1
    assert lines[2] == "| cam | 2 | 81.00 ± 1.41 | 53.00 ± 4.24 | – | – | – | 0.550 ± 0.071 |"
    assert lines[3] == "| acol | 1 | 70.00 | – | – | – | – | 0.250 |"


def test_replace_section_keeps_the_rest_of_the_file():
    first = bench.replace_section("# Results\n\nhand-written notes\n", "erasing", "table v1")
    assert first.startswith("# Results\n\nhand-written notes\n\n<!-- BEGIN erasing")
    both = bench.replace_section(first, "other", "other table")
    updated = bench.replace_section(both, "erasing", "table v2")
    assert "table v2" in updated and "table v1" not in updated
    assert "other table" in updated and "hand-written notes" in updated
    assert bench.replace_section(updated, "erasing", "table v2") == updated
    assert bench.replace_section("", "erasing", "t").startswith("<!-- BEGIN erasing")
    with pytest.raises(ValueError, match="unmatched markers"):
        bench.replace_section("<!-- END erasing -->", "erasing", "t")


def test_main_collects_finished_runs_into_the_results_file(tmp_path):
    configs = []
    for stem in ("cam", "acol"):
        path = tmp_path / f"{stem}.yaml"
        path.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "runs"), "wandb": {"enabled": False}}))
        configs.append(str(path))
        for seed, summary in enumerate(FAKE[stem]):
            run = tmp_path / "runs" / "grp" / stem / f"seed_{seed}"
            run.mkdir(parents=True)
            (run / "summary.json").write_text(json.dumps(summary))
    results = tmp_path / "docs" / "results.md"
    results.parent.mkdir()
    results.write_text("# Results\n\nkept\n")
    # acol has a summary for seed 0 only: ask for that seed alone to avoid training.
    assert bench.main([configs[0], "--seeds", "0", "1", "--group", "grp", "--results", str(results)]) == 0
    assert (
        bench.main(
            [*configs, "--seeds", "0", "--group", "grp", "--title", "Heads", "--results", str(results)]
        )
        == 0
    )
    text = results.read_text()
    assert "## Heads on synthparts" in text and "## Erasing methods" not in text
    assert text.startswith("# Results\n\nkept\n") and text.count("<!-- BEGIN grp") == 1
    assert "| cam | 1 | 80.00 |" in text and "| acol | 1 | 70.00 |" in text
    logged = json.loads((tmp_path / "runs" / "grp" / "summary.json").read_text())
    assert logged["cam/test/top1/mean"] == 80.0


def fake_evaluated_run(run_dir: Path, image_ids: list[str]) -> None:
    overlays = run_dir / "eval" / "overlays"
    overlays.mkdir(parents=True)
    (run_dir / "eval" / "metrics.json").write_text(json.dumps({"test/top1": 1.0}))
    for i in range(len(image_ids)):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(overlays / f"{i}.png")
    (overlays / "index.json").write_text(json.dumps({k: f"{i}.png" for i, k in enumerate(image_ids)}))


def test_evaluated_dir_is_the_last_kept_cascade_stage(tmp_path):
    assert bench.evaluated_dir(tmp_path, {"test/top1": 1.0}) == tmp_path
    assert bench.evaluated_dir(tmp_path, {"cascade/stages": 2}) == tmp_path / "stage_1"


def test_overlay_figure_shows_images_every_run_has(tmp_path, capsys):
    fake_evaluated_run(tmp_path / "a", ["x", "y", "z"])
    fake_evaluated_run(tmp_path / "b", ["z", "x"])
    figure = bench.overlay_figure({"a": tmp_path / "a", "b": tmp_path / "b"}, tmp_path / "img" / "f.png")
    assert figure == tmp_path / "img" / "f.png" and Image.open(figure).mode == "P"  # quantised to 256 colours
    assert bench.overlay_figure({"a": tmp_path / "a", "c": tmp_path / "c"}, tmp_path / "g.png") is None
    assert not (tmp_path / "g.png").exists()
    assert f"{tmp_path / 'c'} has no eval/metrics.json" in capsys.readouterr().err


@pytest.mark.parametrize("started", [False, True])
def test_run_config_starts_a_new_run_and_resumes_a_started_one(tmp_path, monkeypatch, started):
    import wsol.engine

    config = tmp_path / "cam.yaml"
    config.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "runs"), "wandb": {"enabled": False}}))
    cfg = bench.seed_config(config, 0, [], "grp")
    run = bench.run_dir(cfg)
    if started:
        run.root.mkdir(parents=True)
        run.config.write_text("seed: 0\n")
    calls = []

    def fake_train(cfg, resume, progress):
        calls.append(resume)
        run.root.mkdir(parents=True, exist_ok=True)
        run.summary.write_text(json.dumps({"test/top1": 1.0}))

    monkeypatch.setattr(wsol.engine, "train", fake_train)
    assert bench.run_config(cfg, progress=False) == {"test/top1": 1.0}
    assert calls == [started]


def fake_config(tmp_path: Path) -> Path:
    config = tmp_path / "cam.yaml"
    config.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "runs"), "wandb": {"enabled": False}}))
    return config


def test_probe_columns_come_from_the_runs_probe_evaluation(tmp_path):
    config = fake_config(tmp_path)
    run = tmp_path / "runs" / "grp" / "cam" / "seed_0"
    (run / "eval_probe").mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"test/top1": 90.0, "test/context/context_share": "NaN"}))
    probe = {"test/top1": 99.0, "test/context/context_share": 0.75, "val/top1": 1.0, "test/curve": [1, 2]}
    (run / "eval_probe" / "metrics.json").write_text(json.dumps(probe))
    results = tmp_path / "results.md"
    argv = [str(config), "--seeds", "0", "--group", "grp", "--results", str(results), "--probe", "a=1"]
    assert bench.main(argv) == 0
    lines = results.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| config"))
    header, row = lines[start], lines[start + 2]
    cells = dict(zip(header.strip("| ").split(" | "), row.strip("| ").split(" | "), strict=True))
    assert cells["probe: top-1 cls (%)"] == "99.00" and cells["probe: context/context_share"] == "0.750"
    assert cells["top-1 cls (%)"] == "90.00" and "probe: val" not in header and "curve" not in header
    assert "probe: a=1" in results.read_text()


def test_probe_run_evaluates_the_last_checkpoint_with_the_overrides_once(tmp_path, monkeypatch):
    import wsol.evaluation.from_checkpoint as from_checkpoint

    cfg = bench.seed_config(fake_config(tmp_path), 0, [], "grp")
    run = bench.run_dir(cfg)
    run.checkpoints.mkdir(parents=True)
    for epoch in (1, 2):
        (run.checkpoints / f"epoch_{epoch:04d}.pth").write_bytes(b"")
    jobs = []

    def fake_evaluate(job):
        jobs.append(job)
        job.out_dir.mkdir(parents=True)
        (job.out_dir / "metrics.json").write_text(json.dumps({"test/top1": 42.0, "val/top1": 1.0}))

    monkeypatch.setattr(from_checkpoint, "evaluate_checkpoint", fake_evaluate)
    for _ in range(2):
        assert bench.probe_run(cfg, {}, ["x=1"], progress=False) == {"probe/test/top1": 42.0}
    assert len(jobs) == 1 and jobs[0].checkpoint.name == "epoch_0002.pth"
    assert list(jobs[0].overrides) == ["x=1"] and jobs[0].out_dir == run.root / "eval_probe"
