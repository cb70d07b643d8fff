"""The BROKER_LOGGER config resource: this process's loggers and their levels, as Kafka's
`kafka-configs.sh --entity-type broker-loggers` reads and changes them.

Kafka names its log4j loggers and levels (TRACE, DEBUG, INFO, WARN, ERROR, FATAL); here
they are Python's `logging` loggers (`logstore.storage.partition`, `asyncio`, `root`),
levels mapped onto Python's numbers. A logger exists once some module asked for it, as a
log4j logger exists once configured or used. Levels change at once and, as in Kafka, are
not kept over a restart: the broker's `--log-level` stands again.

Owns the mapping and Kafka's checks, codes and messages. It must never create a logger
(a misspelt name is refused, as Kafka refuses it) nor touch handlers or formats
(`logstore.logconfig` does).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from logstore.error_codes import INVALID_CONFIG, INVALID_REQUEST, UNKNOWN_SERVER_ERROR

ROOT = "root"
SOURCE = 6  # DYNAMIC_BROKER_LOGGER_CONFIG
SET, DELETE = 0, 1  # IncrementalAlterConfigs operations
# Kafka's settable levels (its message lists them in this order); TRACE has no Python
# name, so it is a number below DEBUG that no record here is logged at.
LEVELS = {"DEBUG": 10, "ERROR": 40, "FATAL": 50, "INFO": 20, "TRACE": 5, "WARN": 30}
_BY_RANK = sorted(((n, name) for name, n in LEVELS.items()), reverse=True)


class LoggerRefused(Exception):
    """An alteration Kafka refuses, with its error code and message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def level_name(number: int) -> str:
    """Kafka's name for a Python level: the highest of its levels at or below it."""
    for rank, name in _BY_RANK:
        if number >= rank:
            return name
    return "TRACE"


def _loggers() -> dict[str, logging.Logger]:
    found = {
        name: logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    found[ROOT] = logging.getLogger()
    return found


def describe(keys: frozenset[str] | None) -> list[tuple[str, str]]:
    """(logger, effective level) for every logger, or for those of `keys` that exist."""
    loggers = _loggers()
    names = sorted(loggers) if keys is None else sorted(k for k in keys if k in loggers)
    return [(name, level_name(loggers[name].getEffectiveLevel())) for name in names]


def alter(changes: Sequence[tuple[str, int, str | None]], *, validate_only: bool) -> None:
    """Kafka's checks of every (logger, operation, level) first, in the request's order,
    then the changes: SET a level; DELETE makes the logger follow its parent again, up to
    the root's level; APPEND and SUBTRACT are refused. Raises LoggerRefused."""
    for name, op, level in changes:
        if op == SET and level is None:
            raise LoggerRefused(INVALID_REQUEST, f"Null value not supported for : {name}")
    loggers = _loggers()
    for name, op, level in changes:
        if op not in (SET, DELETE):
            verb = {2: "APPEND", 3: "SUBTRACT"}.get(op)
            if verb is None:  # as Kafka fails on an operation it does not know
                raise LoggerRefused(UNKNOWN_SERVER_ERROR, f"Unknown config operation {op}")
            raise LoggerRefused(
                INVALID_REQUEST, f"{verb} operation is not allowed for the BROKER_LOGGER resource"
            )
        if name not in loggers:
            raise LoggerRefused(INVALID_CONFIG, f"Logger {name} does not exist!")
        if op == DELETE and name == ROOT:
            raise LoggerRefused(
                INVALID_REQUEST, "Removing the log level of the root logger is not allowed"
            )
        if op == SET and level not in LEVELS:
            raise LoggerRefused(
                INVALID_CONFIG,
                f"Cannot set the log level of {name} to {level} as it is not a supported log "
                f"level. Valid log levels are {', '.join(LEVELS)}",
            )
    if validate_only:
        return
    for name, op, level in changes:
        loggers[name].setLevel(LEVELS[level] if op == SET and level else logging.NOTSET)


def other_node(node: int, name: str, *, describe: bool) -> str | None:
    """Kafka's refusal of a BROKER_LOGGER resource naming another broker or no number
    (worded apart by its describe and alter paths); None for this broker."""
    if describe and name == "":
        return "Broker id must not be empty"
    word = "Broker" if describe else "Node"
    try:
        named = int(name)
    except ValueError:
        return f"{word} id must be an integer, but it is: {name}"
    if named == node:
        return None
    if describe:
        return f"Unexpected broker id, expected {node} but received {name}"
    return f"Unexpected node id. Expected {node}, but received {name}"
