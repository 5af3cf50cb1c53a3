"""Evaluation: maps from a model, an explainer or a baseline (:mod:`~wsol.evaluation.maps`), the
streaming loop and its cache (:mod:`~wsol.evaluation.loop`, :mod:`~wsol.evaluation.cache`), the
val-to-test protocol (:mod:`~wsol.evaluation.protocol`), and the two entry points of
``tools/eval_loc.py``: a checkpoint (:mod:`~wsol.evaluation.from_checkpoint`) and saved score
maps (:mod:`~wsol.evaluation.scoremaps`). Imports :mod:`wsol.report` to write what it scores;
never :mod:`wsol.engine`.
"""
