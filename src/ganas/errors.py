"""Exceptions with messages meant for users (the CLI prints them without a traceback)."""

from __future__ import annotations


class GanasError(Exception):
    """Base class: anything the user can fix (bad option, bad file, bad layout)."""


class UnknownNameError(GanasError, KeyError):
    """A name not found in a registry; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ConfigError(GanasError, ValueError):
    """A bad configuration key or value."""


class DataError(GanasError):
    """Bad input data: corrupt file, wrong layout, missing file. Names the file."""


class CheckpointError(GanasError):
    """A checkpoint that cannot be loaded safely."""


class NonFiniteLossError(GanasError):
    """A NaN or inf loss; the message names the step."""
