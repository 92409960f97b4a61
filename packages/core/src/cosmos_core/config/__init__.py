"""Experiment configuration: attrs schemas, YAML specs, dotted overrides, validation."""

from cosmos_core.config.schema import option

__all__ = ["option"]
