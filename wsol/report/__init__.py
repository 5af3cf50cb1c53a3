"""Reports over finished runs (``tools/compare.py``)."""
