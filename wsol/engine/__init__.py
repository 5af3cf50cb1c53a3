"""Training: the optimisation loop, checkpointing and cascades (:func:`train` is the entry point).

Layers import downwards only (see docs/architecture.md): the engine uses
:mod:`wsol.evaluation` for validation and the final evaluation, and :mod:`wsol.report`
for tracking and the summary; nothing below imports the engine.
"""

from wsol.engine.run import train

__all__ = ["train"]
