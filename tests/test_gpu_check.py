"""benchmarks/gpu_check.py runs end to end at smoke sizes on CPU (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    yield module
    del sys.modules["gpu_check"]


def test_smoke_run_prints_every_check_and_the_goals(gpu_check, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gpu_check.py", "--smoke", "--device", "cpu"])
    gpu_check.main()
    out = capsys.readouterr().out
    table = out[out.index("\ncheck") :]
    for mode in ("fp32", "bf16 AMP", "channels_last", "torch.compile"):
        assert f"train test_resnet {mode}" in table
    assert "eval 12 maps (V2 + PxAP), 1 workers" in table
    assert "gradcam vs pytorch-grad-cam" in table and "scorecam vs pytorch-grad-cam" in table
    goals = [line for line in out.splitlines() if line.startswith("GOAL ")]
    assert len(goals) == 2 and all("[smoke sizes: not a measurement]" in line for line in goals)
