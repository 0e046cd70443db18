"""The chat service. Its version is written here only (pyproject.toml reads it)."""

__version__ = "1.0.0"
