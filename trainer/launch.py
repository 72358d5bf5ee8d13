"""How to start the trainer on one GPU or on several, as an argument list (never a shell string).

Several GPUs go through `accelerate launch` (torchrun underneath): one process per GPU, each
training every N-th batch, gradients averaged by DistributedDataParallel. Torch-free: the UI
builds its command with this.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def is_distributed_worker() -> bool:
    """True inside a process that accelerate launch / torchrun started."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def trainer_command(config: Path | str, num_processes: int = 1, extra: list[str] | None = None,
                    python: str | None = None) -> list[str]:
    """The command that trains `config` on `num_processes` GPUs (1: a plain `python -m trainer`)."""
    python = python or sys.executable
    trainer_args = ["-m", "trainer", "--config", str(config), *(extra or [])]
    if num_processes <= 1:
        return [python, *trainer_args]
    return [
        python, "-m", "accelerate.commands.launch",
        "--multi_gpu", "--num_processes", str(num_processes), "--num_machines", "1",
        # Precision is set by the trainer from the config; the launcher should not impose its own.
        "--mixed_precision", "no", "--dynamo_backend", "no",
        *trainer_args,
    ]
