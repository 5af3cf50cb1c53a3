"""torchrun with two CPU processes: sharded training and evaluation equal one process exactly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tests.test_train_e2e import CAM, ROOT, tiny_overrides
from wsol.utils.distributed import ShardSampler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(args: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT)}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID"):
        env.pop(var, None)
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize(("n", "world"), [(16, 2), (17, 2), (5, 3), (2, 4)])
def test_shards_cover_every_index_once_in_order(n, world):
    shards = [list(ShardSampler(range(n), world, rank)) for rank in range(world)]
    assert [i for shard in shards for i in shard] == list(range(n))
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


def test_torchrun_two_processes_equal_single_process_eval(tmp_path):
    # Eval batches of 8: both ranks' batches are the single process's batches (a CPU
    # convolution's float result may depend on the batch it runs in; merging is exact).
    overrides = [*tiny_overrides(tmp_path, "ddp", tmp_path / "data", epochs=1), "data.eval_batch_size=8"]
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2"]
    torchrun.append(f"--master_port={free_port()}")
    run([*torchrun, str(ROOT / "tools" / "train.py"), str(CAM), *overrides, "--no-progress"])
    run_dir = tmp_path / "runs" / "ddp"
    distributed = json.loads((run_dir / "eval" / "metrics.json").read_text())

    best = run_dir / "checkpoints" / "best.pth"
    eval_loc = [str(ROOT / "tools" / "eval_loc.py"), "checkpoint", str(best), "--no-progress"]
    run([sys.executable, *eval_loc, "--out", str(tmp_path / "single")])
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    assert distributed["test/num_images"] == 16 and "test/maxboxacc_v2" in distributed
    assert distributed.keys() == single.keys()
    assert json.dumps(distributed) == json.dumps(single)  # every number and curve, to the last bit
    per_image = (run_dir / "eval" / "per_image.csv").read_text()
    assert per_image == (tmp_path / "single" / "per_image.csv").read_text()
