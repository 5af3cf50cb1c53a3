"""Training and evaluation engine (``train_one_epoch``, ``evaluate``, checkpoints, tracking)."""
