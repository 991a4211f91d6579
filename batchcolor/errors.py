"""Exceptions and the process exit codes they map to (documented in the README)."""
from __future__ import annotations

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_SOME_FAILED = 3
EXIT_LOCKED = 11
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class BatchcolorError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with when this escapes."""

    exit_code = EXIT_FATAL


class ModelError(BatchcolorError):
    """The model or its card is missing, unreadable or inconsistent."""


class InputError(BatchcolorError):
    """One input file cannot be colorized (bad, truncated, too large, unsupported)."""


class InferenceError(BatchcolorError):
    """An inference request failed; raised in the caller's thread, never swallowed."""


class LockHeld(BatchcolorError):
    exit_code = EXIT_LOCKED


class ConfigError(BatchcolorError):
    exit_code = EXIT_USAGE
