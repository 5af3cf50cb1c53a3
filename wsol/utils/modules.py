"""Running any classifier: its logits, and eval mode for a block with every flag restored."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torch import Tensor, nn

from wsol.errors import WSOLError


def logits_of(output: Any) -> Tensor:
    """The ``(B, K)`` logits of a model's output: a Tensor, or an object with ``.logits``."""
    logits = output if isinstance(output, Tensor) else getattr(output, "logits", None)
    if not isinstance(logits, Tensor) or logits.dim() != 2:
        raise WSOLError(
            f"the model returned {type(output).__name__}; explainers need (B, K) logits "
            "or an object with a .logits attribute holding them"
        )
    return logits


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode for the block, then restore every submodule's own flag."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training
