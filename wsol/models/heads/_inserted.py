"""Base of the heads that insert attention blocks into the backbone (SE, CBAM, BAM, SK, residual)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from wsol.errors import ConfigError
from wsol.models.backbones.base import Backbone
from wsol.models.heads._multiscale import RESIZE_MODES, stack_maps
from wsol.models.heads._options import check_choice, resolve_stages
from wsol.models.heads.cam import CAMHead
from wsol.models.output import ModelOutput

MAP_CHOICES = ("cam", "attention")


class InsertedBlocksHead(nn.Module):
    """Blocks after backbone stages, then a :class:`~wsol.models.heads.cam.CAMHead` on the last stage.

    One block per stage of ``stages`` is built by ``make_block(channels_of_that_stage)`` and
    inserted with ``backbone.insert_after``. The backbone owns the blocks (they live in
    ``backbone.inserted``, are saved with the model and, being outside ``backbone.body``,
    train at the head's learning rate); the head only keeps plain references to them.

    ``maps`` chooses what localizes (and so ``map_kind``):

    * ``"cam"``: ``map_kind = "class"``, the CAM head's class maps of the last stage;
    * ``"attention"``: ``map_kind = "attention"``, the spatial maps the blocks record on each
      forward (``block.spatial_map``, ``(B, 1, h_i, w_i)`` in [0, 1]), resized to the
      ``resize`` (finest or coarsest) of their resolutions and stacked as
      ``(B, len(stages), h, w)``; ``class_maps`` is then None.
    """

    map_kind: str

    def __init__(
        self,
        in_channels: list[int],
        num_classes: int,
        backbone: Backbone | None,
        stages: Sequence[int],
        make_block: Callable[[int], nn.Module],
        pooling: str = "gap",
        maps: str = "cam",
        resize: str = "finest",
    ) -> None:
        super().__init__()
        if backbone is None:
            name = type(self).__name__
            raise ConfigError(f"model.head: {name} inserts blocks into a backbone; none was given")
        self.map_kind = "class" if check_choice(maps, MAP_CHOICES, "maps") == "cam" else "attention"
        self.resize = check_choice(resize, RESIZE_MODES, "resize")
        self.cam = CAMHead(in_channels, num_classes, pooling=pooling)
        blocks = []
        for stage in resolve_stages(stages, len(in_channels)):
            block = make_block(in_channels[stage])
            backbone.insert_after(stage, block)
            blocks.append(block)
        self.blocks: tuple[nn.Module, ...] = tuple(blocks)  # a tuple, so not registered twice

    def forward(self, features: list[Tensor]) -> ModelOutput:
        out = self.cam(features)
        if self.map_kind == "class":
            return out
        maps = stack_maps([block.spatial_map for block in self.blocks], self.resize)
        return ModelOutput(logits=out.logits, attention=maps)
