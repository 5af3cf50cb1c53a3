"""Faults: truncated checkpoints are skipped, file writes are atomic, evaluations resume from a cache."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_train_e2e import CAM, tiny_overrides, train_cli
from wsol.checkpoints.files import load_checkpoint, load_evaluated, load_latest, save_epoch_checkpoint
from wsol.config import load_config, to_dict
from wsol.errors import CheckpointError, ConfigError
from wsol.evaluation.from_checkpoint import CheckpointEval, evaluate_checkpoint
from wsol.models import build_model
from wsol.utils.atomic import atomic_torch_save, atomic_write_text


def truncate(path, fraction: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])


def state(epoch: int) -> dict:
    return {"model": {"w": torch.full((64, 64), float(epoch))}, "epoch": epoch}


def test_truncated_newest_checkpoint_falls_back_with_a_warning(tmp_path, caplog):
    for epoch in range(3):
        save_epoch_checkpoint(state(epoch), tmp_path, epoch)
    newest = tmp_path / "epoch_0002.pth"
    truncate(newest)
    with pytest.raises(CheckpointError, match=r"epoch_0002\.pth is unreadable"):
        load_checkpoint(newest)
    with caplog.at_level(logging.WARNING, logger="wsol.checkpoints.files"):
        loaded = load_latest(tmp_path)
    assert loaded["epoch"] == 1 and torch.equal(loaded["model"]["w"], state(1)["model"]["w"])
    assert "epoch_0002.pth is unreadable (truncated or corrupt)" in caplog.text


def test_no_readable_checkpoint_is_a_one_line_error(tmp_path):
    for epoch in range(2):
        save_epoch_checkpoint(state(epoch), tmp_path, epoch)
        truncate(tmp_path / f"epoch_{epoch:04d}.pth", 0.3)
    with pytest.raises(CheckpointError, match="no readable checkpoint in"):
        load_latest(tmp_path)


def test_evaluated_checkpoint_is_the_newest_epoch_or_best(tmp_path):
    for epoch in range(3):
        save_epoch_checkpoint(state(epoch), tmp_path, epoch)
    atomic_torch_save(state(1), tmp_path / "best.pth")
    assert load_evaluated(tmp_path, "last")["epoch"] == 2
    assert load_evaluated(tmp_path, "best")["epoch"] == 1
    with pytest.raises(CheckpointError, match="no epoch checkpoint in"):
        load_evaluated(tmp_path / "empty", "last")


def test_bad_checkpoint_choice_fails_when_the_config_loads(tmp_path):
    with pytest.raises(ConfigError, match=r"^eval\.checkpoint: 'worst' is not one of 'last', 'best'"):
        load_config(CAM, [*tiny_overrides(tmp_path, "choice", tmp_path / "data"), "eval.checkpoint=worst"])
    assert not (tmp_path / "runs" / "choice").exists()


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    atomic_write_text(path, '{"old": 1}')

    def crash(_fd: int) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_text(path, '{"new": 2}')
    assert path.read_text() == '{"old": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_resume_skips_a_truncated_epoch_checkpoint(tmp_path):
    data_root = tmp_path / "data"
    args = tiny_overrides(tmp_path, "trunc", data_root)
    proc = train_cli(args)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    ckpts = tmp_path / "runs" / "trunc" / "checkpoints"
    original = torch.load(ckpts / "epoch_0001.pth", weights_only=False)["model"]
    truncate(ckpts / "epoch_0001.pth")

    resumed = train_cli([*args, "--resume"])
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert "epoch_0001.pth is unreadable (truncated or corrupt)" in err
    assert "resumed from epoch 0" in err
    again = torch.load(ckpts / "epoch_0001.pth", weights_only=False)["model"]
    assert all(torch.equal(original[k], again[k]) for k in original)


def write_untrained_checkpoint(tmp_path) -> Path:
    small = ["data.dataset.num_val=6", "data.dataset.num_test=6", "data.eval_batch_size=4"]
    cfg = load_config(CAM, [*tiny_overrides(tmp_path, "cached", tmp_path / "data"), *small])
    model = build_model(cfg.model, 3)
    path = tmp_path / "runs" / "cached" / "checkpoints" / "best.pth"
    atomic_torch_save({"model": model.state_dict(), "config": to_dict(cfg), "num_classes": 3}, path)
    return path


def test_evaluation_resumed_from_its_cache_equals_an_uninterrupted_one(tmp_path):
    checkpoint = write_untrained_checkpoint(tmp_path)
    options = {"num_overlays": 0, "progress": False}
    plain = evaluate_checkpoint(CheckpointEval(checkpoint, out_dir=tmp_path / "plain", **options))
    cache = tmp_path / "cache"
    evaluate_checkpoint(CheckpointEval(checkpoint, out_dir=tmp_path / "first", cache=cache, **options))
    entries = sorted(cache.rglob("batch_*.pt"))
    assert len(entries) == 4  # 6 val + 6 test images in batches of 4
    killed = [p for p in entries if p.name >= "batch_000001.pt"]  # as if killed after one batch
    for path in killed:
        path.unlink()
    kept = {p: p.stat().st_mtime_ns for p in entries if p not in killed}
    resumed = evaluate_checkpoint(
        CheckpointEval(checkpoint, out_dir=tmp_path / "resumed", cache=cache, **options)
    )
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # restored, not recomputed
    assert all(p.exists() for p in killed)
    assert plain.keys() == resumed.keys()
    for key, value in plain.items():
        assert np.array_equal(value, resumed[key], equal_nan=True), key
    per_image = (tmp_path / "resumed" / "per_image.csv").read_text()
    assert per_image == (tmp_path / "plain" / "per_image.csv").read_text()
    with pytest.raises(ConfigError, match="holds a different evaluation"):
        evaluate_checkpoint(
            CheckpointEval(
                checkpoint, ["eval.cam_curve_interval=0.05"], out_dir=tmp_path / "b", cache=cache, **options
            )
        )
