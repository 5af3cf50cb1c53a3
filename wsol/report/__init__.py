"""Reporting: run tracking (W&B and local files), the summary, evaluation files, figures and W&B
media, and offline comparison of finished runs (``tools/compare.py``). Imports nothing from
:mod:`wsol.evaluation` or :mod:`wsol.engine`.
"""
