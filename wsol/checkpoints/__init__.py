"""Checkpoints: the file format (atomic writes, epoch files kept two deep, ``last`` / ``best``)
and rebuilding a trained model from one (:func:`load_model`)."""

from wsol.checkpoints.loading import load_model

__all__ = ["load_model"]
