"""Errors a user can fix. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class RlboxError(Exception):
    """Bad input from the user: an unknown name, a bad config value, a missing extra."""


class ConfigError(RlboxError):
    """A config key or value that does not fit the agent's or the run's config."""


def check(condition: bool, key: str, message: str) -> None:
    """A `ConfigError` "invalid value for 'key': message" unless `condition` holds: how config
    dataclasses (agents', runs', backbones') validate their fields."""
    if not condition:
        raise ConfigError(f"invalid value for {key!r}: {message}")


class CheckpointError(RlboxError):
    """A checkpoint or run directory that is missing, corrupt or unsafe to load."""


class MissingExtraError(RlboxError):
    """An optional dependency is not installed; the message names the install command."""

    def __init__(self, package: str, extra: str, command: str | None = None) -> None:
        command = command or f"pip install 'rlbox[{extra}]'"
        super().__init__(f"{package} is not installed; run: {command}")
