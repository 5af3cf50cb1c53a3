"""The small batch the METHODS tests train and localize on."""

import torch

NUM_CLASSES = 3
IMAGES = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
LABELS = torch.tensor([0, 2])
