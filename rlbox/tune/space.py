"""Search spaces: experiments/spaces/<agent>.yaml (or a `--space FILE`), one entry per config key.

lr: {low: 1.0e-5, high: 1.0e-2, log: true}     # a float, its logarithm sampled uniformly
n_epochs: {low: 1, high: 20}                   # integer bounds: an integer
batch_size: {choices: [32, 64, 128]}           # one of the choices (lists too)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from rlbox.errors import ConfigError


@dataclass(frozen=True)
class Dimension:
    key: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False

    def sample(self, trial: Any) -> Any:
        if self.choices is not None:
            # Optuna's categorical values are scalars: lists are chosen by their index
            if any(isinstance(c, list) for c in self.choices):
                return self.choices[
                    trial.suggest_categorical(self.key, list(range(len(self.choices))))
                ]
            return trial.suggest_categorical(self.key, list(self.choices))
        if isinstance(self.low, int) and isinstance(self.high, int):
            return trial.suggest_int(self.key, self.low, self.high, log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log)

    def value(self, sampled: Any) -> Any:
        """The config value of a sampled parameter (the choice an index stands for)."""
        if self.choices is not None and any(isinstance(c, list) for c in self.choices):
            return self.choices[sampled]
        return sampled

    def first(self) -> Any:
        return self.choices[0] if self.choices is not None else self.low


def space_path(agent: str) -> Any:
    return resources.files("rlbox.experiments") / "spaces" / f"{agent}.yaml"


def load_space(agent: str, path: Path | None = None) -> list[Dimension]:
    """The search space of `agent` (its file in experiments/spaces, or `path`)."""
    source = path if path is not None else space_path(agent)
    if path is None and not source.is_file():
        raise ConfigError(f"no search space for {agent!r} in experiments/spaces; pass --space FILE")
    try:
        table = yaml.safe_load(source.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read --space {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"--space {source} is not valid YAML: {' '.join(str(error).split())}"
        ) from None
    if not isinstance(table, dict) or not table:
        raise ConfigError(f"search space {source} must map config keys to ranges")
    return [_dimension(key, entry, source) for key, entry in table.items()]


def _dimension(key: str, entry: Any, source: Any) -> Dimension:
    where = f"search space {source}, {key}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected {{choices: [...]}} or {{low: .., high: ..}}")
    unknown = set(entry) - {"choices", "low", "high", "log"}
    if unknown:
        raise ConfigError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    if "choices" in entry:
        choices = entry["choices"]
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: choices must be a non-empty list")
        return Dimension(key, choices=tuple(choices))
    low, high = entry.get("low"), entry.get("high")
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not low < high:
        raise ConfigError(f"{where}: needs numbers low < high, got {low!r}, {high!r}")
    log = bool(entry.get("log", False))
    if log and low <= 0:
        raise ConfigError(f"{where}: log needs low > 0, got {low!r}")
    return Dimension(key, low=low, high=high, log=log)


def sample(space: list[Dimension], trial: Any) -> dict[str, Any]:
    """Config values for `trial`, one per dimension."""
    return {dim.key: dim.sample(trial) for dim in space}


def values_of(space: list[Dimension], params: dict[str, Any]) -> dict[str, Any]:
    """Config values of a finished trial's sampled parameters."""
    by_key = {dim.key: dim for dim in space}
    return {
        key: by_key[key].value(value) if key in by_key else value for key, value in params.items()
    }
