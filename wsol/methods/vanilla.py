"""Plain classifier training (no erasing)."""

from wsol.methods import METHODS
from wsol.methods.base import Method


@METHODS.register("vanilla")
class Vanilla(Method):
    """Train the model's head as is: cross-entropy on image labels (plus aux losses)."""
