"""SynthParts: a procedurally generated WSOL benchmark with partial highlighting built in.

Each object carries a strong class cue on one small part and weaker cues on its larger
parts, so a plain CAM classifier highlights mostly the small part, as on real WSOL
benchmarks. See ``docs/synthparts.md``.
"""

from wsol.data.synthparts.config import SynthPartsConfig
from wsol.data.synthparts.writer import ensure_generated, generate

__all__ = ["SynthPartsConfig", "ensure_generated", "generate"]
