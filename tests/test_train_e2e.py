"""End-to-end training through tools/train.py on a tiny SynthParts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from wsol.config import load_config
from wsol.engine import train
from wsol.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CAM = ROOT / "configs" / "synthparts" / "cam.yaml"


def tiny_overrides(tmp_path: Path, name: str, data_root: Path, epochs: int = 2) -> list[str]:
    return [
        f"name={name}",
        f"output_dir={tmp_path / 'runs'}",
        "seed=3",
        f"data.dataset.root={data_root}",
        "data.dataset.num_train=64",
        "data.dataset.num_val=16",
        "data.dataset.num_test=16",
        "data.dataset.num_classes=3",
        "data.dataset.image_size=64",
        "data.image_size=64",
        "data.batch_size=16",
        "data.eval_batch_size=16",
        "data.num_workers=0",
        "model.backbone.name=convnet",
        "model.backbone.options.width=8",
        f"optim.epochs={epochs}",
        "optim.lr=0.05",
        "eval.resolution=64",
        "wandb.enabled=false",
    ]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synthparts")


def train_cli(args: list[str], **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "train.py"), str(CAM), *args, "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_tiny_run_writes_everything(tmp_path, data_root):
    proc = train_cli(tiny_overrides(tmp_path, "tiny", data_root))
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    run = tmp_path / "runs" / "tiny"
    summary = json.loads((run / "summary.json").read_text())
    for key in ("test/top1", "test/maxboxacc_v2", "test/pxap", "val/maxboxacc_v2", "best_epoch"):
        assert key in summary, key
    assert 0 <= summary["test/top1"] <= 100
    assert load_config(run / "config.yaml").model.backbone.name == "convnet"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best.pth",
        "epoch_0000.pth",
        "epoch_0001.pth",
    ]
    assert "partial highlighting" in out and "MaxBoxAccV2" in out
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1]


def test_sigkill_then_resume_equals_uninterrupted(tmp_path, data_root):
    straight = train_cli(tiny_overrides(tmp_path, "straight", data_root))
    assert straight.wait(timeout=600) == 0, straight.stderr.read()

    killed = train_cli(tiny_overrides(tmp_path, "killed", data_root), start_new_session=True)
    ckpts = tmp_path / "runs" / "killed" / "checkpoints"
    deadline = time.time() + 600
    while not (ckpts / "epoch_0000.pth").exists():
        assert killed.poll() is None and time.time() < deadline, "run ended before its first checkpoint"
        time.sleep(0.01)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not (ckpts / "epoch_0001.pth").exists(), "killed too late: epoch 1 already finished"

    resumed = train_cli([*tiny_overrides(tmp_path, "killed", data_root), "--resume"])
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read()
    a = torch.load(tmp_path / "runs" / "straight" / "checkpoints" / "epoch_0001.pth", weights_only=False)[
        "model"
    ]
    b = torch.load(ckpts / "epoch_0001.pth", weights_only=False)["model"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_existing_run_needs_resume(tmp_path, data_root):
    cfg = load_config(CAM, tiny_overrides(tmp_path, "again", data_root, epochs=1))
    (tmp_path / "runs" / "again" / "checkpoints").mkdir(parents=True)
    (tmp_path / "runs" / "again" / "checkpoints" / "epoch_0000.pth").write_bytes(b"")
    with pytest.raises(ConfigError, match="already holds checkpoints"):
        train(cfg, progress=False)


def test_cli_reports_config_errors_in_one_line(tmp_path):
    proc = train_cli(["optim.lrr=0.1"])
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip() == "error: unknown config key 'optim.lrr' (did you mean 'optim.lr'?)"
