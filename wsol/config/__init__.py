"""Run configuration: typed schema, YAML loading with dot-list overrides, saving."""

from wsol.config.loader import load_checkpoint_config, load_config, save_config, to_dict
from wsol.config.schema import RunConfig

__all__ = ["RunConfig", "load_checkpoint_config", "load_config", "save_config", "to_dict"]
