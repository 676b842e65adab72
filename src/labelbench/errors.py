"""Error classes, each with its own process exit code (the CLI's documented interface).

Every error a user can cause derives from :class:`LabelbenchError`; the CLI prints its message on
one line to stderr and exits with :attr:`LabelbenchError.exit_code`. Messages must never contain a
database password (use :func:`labelbench.config.redact_url`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes. 0 and 2 follow Click's conventions (success, usage error)."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    CONFIG = 3
    DATABASE = 4
    SCHEMA = 5
    NOT_FOUND = 6
    INPUT = 7
    MODEL = 8
    GATES_FAILED = 9
    CONFLICT = 10
    REJECTED = 11
    INTERRUPTED = 130


class LabelbenchError(Exception):
    """Base of every error labelbench reports to a user.

    The message is one line; ``details`` are optional further lines (a rejected file's first
    errors by line and column) that the CLI prints under it.
    """

    exit_code: ExitCode = ExitCode.UNEXPECTED
    details: tuple[str, ...] = ()


class ConfigError(LabelbenchError):
    """Invalid configuration file, environment variable or flag."""

    exit_code = ExitCode.CONFIG


class DatabaseError(LabelbenchError):
    """The database cannot be reached or refused an operation."""

    exit_code = ExitCode.DATABASE


class SchemaError(LabelbenchError):
    """The database schema is missing or not at the revision this version needs."""

    exit_code = ExitCode.SCHEMA


class NotFoundError(LabelbenchError):
    """A named thing (model, batch, sample, country) does not exist."""

    exit_code = ExitCode.NOT_FOUND


class InputError(LabelbenchError):
    """Bad input data or arguments that passed parsing (unknown country, empty data set...)."""

    exit_code = ExitCode.INPUT


class ModelError(LabelbenchError):
    """A model bundle is missing, tampered with, foreign or incompatible, or cannot be trained."""

    exit_code = ExitCode.MODEL


class GatesFailedError(LabelbenchError):
    """Promotion gates failed under ``--strict``."""

    exit_code = ExitCode.GATES_FAILED


class ConflictError(LabelbenchError):
    """A concurrent change won (an item already claimed, a stale lease, an alias moved)."""

    exit_code = ExitCode.CONFLICT
