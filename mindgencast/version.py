"""The package version (single source of truth for setup.py and outputs)."""

__version__ = "0.1.0"
