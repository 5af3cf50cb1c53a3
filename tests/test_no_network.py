"""No network at import, training or evaluation with W&B offline: held under a blocked network.

Every Python process of the run starts with ``tests/no_network/sitecustomize.py``, which
refuses and records any DNS lookup of a non-local name and any connection to a
non-loopback address (the tool, DataLoader workers, W&B's Python side). Where the test
may create a network namespace (root, ``unshare``), the run also goes into one with only
loopback up, so that W&B's own service binary (not Python) cannot reach out either.
A recorded attempt fails the test even if the program swallowed the error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCKER = Path(__file__).resolve().parent / "no_network"
CAM = ROOT / "configs" / "synthparts" / "cam.yaml"


def _namespace_prefix() -> list[str]:
    """``unshare -n`` with loopback up, when this process may create network namespaces."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return []
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        return []
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]


def run_blocked(args: list[str], log: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(BLOCKER), str(ROOT)]),
        "WSOL_NETWORK_LOG": str(log),
        "WANDB_MODE": "offline",
        "OMP_NUM_THREADS": "1",
        "NO_ALBUMENTATIONS_UPDATE": "1",
    }
    command = [*_namespace_prefix(), sys.executable, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)


def attempts(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_the_blocker_records_lookups_and_connections(tmp_path):
    log = tmp_path / "net.log"
    code = (
        "import socket\n"
        "for call in (lambda: socket.getaddrinfo('example.com', 443),\n"
        "             lambda: socket.create_connection(('93.184.216.34', 80), timeout=1)):\n"
        "    try: call()\n"
        "    except OSError: pass\n"
        "socket.getaddrinfo('localhost', 80)\n"
    )
    result = run_blocked(["-c", code], log, tmp_path)
    assert result.returncode == 0, result.stderr
    recorded = attempts(log)
    assert len(recorded) == 2 and "getaddrinfo example.com" in recorded[0] and "93.184.216.34" in recorded[1]


def tiny_run(tmp_path: Path) -> list[str]:
    return [
        "name=offline",
        f"output_dir={tmp_path / 'runs'}",
        f"data.dataset.root={tmp_path / 'data'}",
        "data.dataset.num_train=24",
        "data.dataset.num_val=8",
        "data.dataset.num_test=8",
        "data.dataset.num_classes=2",
        "data.dataset.image_size=64",
        "data.dataset.workers=1",
        "data.image_size=64",
        "data.batch_size=8",
        "data.eval_batch_size=8",
        "data.num_workers=1",
        "model.backbone.options.width=4",
        "optim.epochs=1",
        "eval.resolution=64",
        "eval.num_overlays=2",
        "wandb.enabled=true",
        "wandb.mode=offline",
    ]


# Both tools in one interpreter (one start-up and import instead of two), each as ``__main__``.
RUN_TOOLS = """
import runpy, sys
for argv in {commands!r}:
    sys.argv = argv
    try:
        runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as done:
        if done.code:
            raise
"""


def test_training_and_evaluation_make_no_network_attempt(tmp_path):
    log = tmp_path / "net.log"
    run = tmp_path / "runs" / "offline"
    checkpoint = run / "checkpoints" / "epoch_0000.pth"
    commands = [
        [str(ROOT / "tools" / "train.py"), str(CAM), *tiny_run(tmp_path), "--no-progress"],
        [str(ROOT / "tools" / "eval_loc.py"), "checkpoint", str(checkpoint), "--out", "ev", "--no-progress"],
    ]
    result = run_blocked(["-c", RUN_TOOLS.format(commands=commands)], log, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test/maxboxacc_v2" in json.loads((run / "summary.json").read_text())
    assert "test/maxboxacc_v2" in json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert any((run / "wandb").glob("offline-run-*")), "W&B did not log offline"
    assert attempts(log) == []
