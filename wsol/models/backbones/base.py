"""The interface every backbone implements."""

from __future__ import annotations

from torch import Tensor, nn

from wsol.errors import ConfigError


class Backbone(nn.Module):
    """Images -> per-stage feature maps; see the BACKBONES contract."""

    channels: list[int]
    stage_modules: list[nn.Module]

    @property
    def runs_stagewise(self) -> bool:
        """Whether :meth:`run_stage` works for this backbone."""
        return False

    def run_stage(self, index: int, x: Tensor) -> Tensor:
        """Stage ``index`` alone: ``x`` is stage ``index - 1``'s output (the images for stage 0).

        Running stages ``0 .. len(channels) - 1`` in turn gives :meth:`forward`'s features, so a
        caller can transform a stage's output before the next stage sees it, explicitly and
        per call (:class:`~wsol.models.heads.inserted.InsertedBlocksHead` places attention
        layers this way). Backbones that cannot split their forward raise a ``ConfigError``.
        """
        raise ConfigError(f"model.backbone: {type(self).__name__} cannot run stage by stage")

    def insert_after(self, stage: int, block: nn.Module) -> None:
        """Apply ``block`` to the output of stage ``stage`` (negative indices allowed).

        The block sees the stage's output and its result replaces it, for later stages
        and for the returned features alike. The block is registered as a submodule
        (so it trains and is saved) under ``inserted.<stage>_<n>``. Training methods use
        this (ADL, EIL: blocks that return a tensor only); heads do not, they run the
        stages themselves (:meth:`run_stage`) and so can return what their layers compute.
        """
        stage %= len(self.stage_modules)
        if not hasattr(self, "inserted"):
            self.inserted = nn.ModuleDict()
        name = f"{stage}_{len(self.inserted)}"
        self.inserted[name] = block
        self.stage_modules[stage].register_forward_hook(self._inserted_hook(name))

    def _inserted_hook(self, name: str) -> _ApplyInserted:
        """The forward hook applying ``inserted[name]`` to a stage's output."""
        return _ApplyInserted(self, name)

    def forward(self, images: Tensor) -> list[Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


class _ApplyInserted:
    """Forward hook replacing a stage's output by ``backbone.inserted[name](output)``.

    It looks the block up through the backbone at call time (not a captured reference),
    so a deep copy or an unpickled model runs its own blocks.
    """

    def __init__(self, backbone: Backbone, name: str) -> None:
        self.backbone, self.name = backbone, name

    def __call__(self, _module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> Tensor:
        return self.backbone.inserted[self.name](output)
