"""Typed configs: dataclass defaults, tuned values from experiments/hyperparams, user overrides.

A run is described in sections: `run` (`RunConfig`: budget, vector size, evaluation and
checkpoint cadence, seed, device), `agent` (the agent's own config, e.g. `DQNConfig`), `backbone`
(the perception network and its options, for agents that build theirs through `rlbox.nn`) and
`env` (keyword arguments of `gymnasium.make`). Keys are dotted by section (`run.steps`,
`backbone.hidden_sizes`, `env.is_slippery`) or bare where one section alone has them
(`--set lr=5e-4 --set eval_every=5000`); the bare key `backbone` names the backbone. Values are
resolved in this order: dataclass default < the agent's default backbone options <
`hyperparams/<agent>.yaml` section `default` < section `<env id>` < section
`<env id>@<backend>` (values for a non-default env backend, e.g. many torch-native copies) <
overrides. Every value is coerced to its field's type and validated; a bad key or value raises
`ConfigError` naming it.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from rlbox.config.fields import check, coerce, default_of, field_type, param, to_plain
from rlbox.config.tuned import load_hyperparams
from rlbox.errors import ConfigError
from rlbox.nn.backbone import USE_KEYS, BackboneSpec, BackboneUse, options_class


@dataclass(frozen=True)
class RunConfig:
    steps: int = param(100_000, "Environment steps to train for, summed over vector copies.")
    schedule_horizon: int = param(
        0,
        "Env steps over which schedules (lr, epsilon, clip range, ...) run; past it each holds "
        "its final value. 0: the budget the run starts with; a resume to more steps keeps it.",
    )
    num_envs: int = param(1, "Number of environment copies stepped together.")
    seed: int = param(0, "Seed of the networks, the replay sampling and the environments.")
    device: str = param("auto", "Torch device: cpu, cuda, cuda:N or auto (cuda if available).")
    backend: Literal["gymnasium", "torch"] = param(
        "gymnasium", "Training envs: Gymnasium's on the host, or rlbox's torch-native twins."
    )
    eval_every: int = param(10_000, "Evaluate every this many environment steps.")
    eval_episodes: int = param(10, "Episodes per periodic evaluation.")
    final_eval_episodes: int = param(20, "Episodes of the final evaluation.")
    log_every: int = param(1_000, "Write a row of training metrics every this many steps.")
    checkpoint_every: int = param(25_000, "Write a checkpoint every this many steps.")
    keep_checkpoints: int = param(2, "How many of the newest checkpoints to keep.")
    torch_threads: int = param(1, "CPU threads for torch (small networks are fastest on one).")
    video: bool = param(
        False, "Record an evaluation episode to videos/step-<k>.mp4 and TensorBoard."
    )
    video_every: int = param(1, "With video: record at every this-many-th evaluation.")

    def __post_init__(self) -> None:
        check(self.steps > 0, "steps", f"must be positive, got {self.steps}")
        check(self.num_envs > 0, "num_envs", f"must be positive, got {self.num_envs}")
        check(self.seed >= 0, "seed", f"must be >= 0, got {self.seed}")
        check(self.schedule_horizon >= 0, "schedule_horizon", "must be >= 0 (0: the budget)")
        check(
            re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device) is not None,
            "device",
            f"must be cpu, cuda, cuda:N, mps or auto, got {self.device!r}",
        )
        positive = (
            "eval_every",
            "eval_episodes",
            "final_eval_episodes",
            "log_every",
            "checkpoint_every",
        )
        for key in positive:
            check(getattr(self, key) > 0, key, f"must be positive, got {getattr(self, key)}")
        check(self.keep_checkpoints >= 1, "keep_checkpoints", "must be at least 1")
        check(self.torch_threads >= 1, "torch_threads", "must be at least 1")
        check(self.video_every >= 1, "video_every", "must be at least 1")


@dataclass(frozen=True)
class Experiment:
    """A fully resolved and validated training run: the sections run, agent (`agent_config`, the
    agent's config), backbone (None for agents whose network is their library's, sb3-* and
    tfa-*) and env (keyword arguments of `gymnasium.make`)."""

    agent: str
    env_id: str
    run: RunConfig
    agent_config: Any  # the agent's config_class instance, stored as "hyperparams"
    env_options: dict[str, Any] = field(default_factory=dict)
    backbone: BackboneSpec | None = None
    # The agent's default backbone: what the fingerprint counts as no difference.
    default_backbone: BackboneSpec | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        config = {
            "agent": self.agent,
            "env": self.env_id,
            "run": dataclasses.asdict(self.run),
            "hyperparams": to_plain(dataclasses.asdict(self.agent_config)),
            "env_options": to_plain(self.env_options),
        }
        if self.backbone is not None:
            # How the backbone is used is written only where it differs from plain use, so that
            # runs made before these keys existed keep their identity.
            plain = dataclasses.asdict(BackboneUse())
            use = {k: v for k, v in dataclasses.asdict(self.backbone.use).items() if v != plain[k]}
            config["backbone"] = {
                "name": self.backbone.name,
                **to_plain(self.backbone.options),
                **use,
            }
        return config


def flat_values(config: dict[str, Any]) -> dict[str, Any]:
    """The values of a config dict (`Experiment.to_dict()`, a run's config.yaml) as the keys
    `resolve` takes: bare run and agent keys, `backbone` and `backbone.<option>`, `env.<option>`.
    A config.yaml written before the backbone section had the MLP's sizes among the agent's keys:
    as bare keys they resolve to the backbone section now."""
    options = config.get("env_options") or {}
    env = {f"env.{k}": v for k, v in options.items()}
    return {**config["run"], **config["hyperparams"], **_backbone_keys(config), **env}


def _backbone_keys(config: dict[str, Any]) -> dict[str, Any]:
    section = dict(config.get("backbone") or {})
    if not section:
        return {}
    name = section.pop("name", None)
    keys = {f"backbone.{k}": v for k, v in section.items()}
    return keys if name is None else {"backbone": name, **keys}


# Run keys that say where and how a run is watched, not what it computes: left out of its identity.
NOT_IDENTITY = frozenset(
    {"seed", "device", "torch_threads", "video", "video_every", "keep_checkpoints", "log_every",
     "checkpoint_every"}
)  # fmt: skip


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """The values that make a run what it is, from a config dict (`Experiment.to_dict()` or a
    run's config.yaml): every run and agent value but the seed and the `NOT_IDENTITY` keys."""
    run = {k: v for k, v in config["run"].items() if k not in NOT_IDENTITY}
    options = {f"env.{k}": v for k, v in (config.get("env_options") or {}).items()}
    values = {"agent": config["agent"], "env": config["env"], **run, **config["hyperparams"]}
    return {**values, **_backbone_identity(config.get("backbone"), values), **options}


def _backbone_identity(section: dict[str, Any] | None, others: dict[str, Any]) -> dict[str, Any]:
    """The backbone's name under `backbone` and its options under their bare names (as the MLP's
    sizes were agent keys before backbones had a section, so fingerprints stay as they were),
    dotted where a bare name would clash with another key."""
    section = dict(section or {})
    out = {} if "name" not in section else {"backbone": section.pop("name")}
    for key, value in section.items():
        out[f"backbone.{key}" if key in others else key] = value
    return out


def fingerprint(experiment: Experiment) -> str:
    """8 hex digits naming the values of `experiment` that differ from the defaults (dataclass
    defaults and the agent's default backbone; tuned values count as differences), so that runs
    with other values get other names."""
    defaults = {
        **{f.name: default_of(f) for f in dataclasses.fields(RunConfig)},
        **{f.name: default_of(f) for f in dataclasses.fields(type(experiment.agent_config))},
    }
    if (default := experiment.default_backbone) is not None:
        section = {"name": default.name, **default.options}
        defaults.update(_backbone_identity(section, defaults))
    values = identity(experiment.to_dict())
    differing = {k: v for k, v in values.items() if to_plain(defaults.get(k, object())) != v}
    text = json.dumps(differing, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


SECTIONS = ("run", "agent", "backbone", "env")


def resolve(
    agent: str,
    env_id: str,
    config_class: type,
    overrides: dict[str, Any],
    default_backbone: BackboneSpec | Callable[[dict[str, Any]], BackboneSpec] | None = None,
    optional_backbone: bool = False,
) -> Experiment:
    """Merge defaults, tuned values and overrides into a validated `Experiment`.

    Keys are bare (`lr`, `steps`, `hidden_sizes`: a key that one section alone has) or dotted by
    section: `run.steps`, `agent.lr`, `backbone.<option>`, `env.<kwarg>` (a keyword argument of
    `gymnasium.make`, checked when the env is made); `backbone` names the backbone.
    `default_backbone` is the agent's (None: the agent builds no rlbox backbone, and backbone
    keys are an error), or a function of the env options that chooses it (by the observations:
    images get a CNN). `optional_backbone`: an agent with a network of its own library (sb3-*)
    that takes an rlbox backbone instead where one is named.
    """
    backend = overrides.get("backend", overrides.get("run.backend", RunConfig.backend))
    values = load_hyperparams(agent, env_id, str(backend))
    values.update(overrides)
    if callable(default_backbone):
        default_backbone = default_backbone(
            {k.removeprefix("env."): v for k, v in values.items() if k.startswith("env.")}
        )
    fields_of: dict[str, type] = {"run": RunConfig, "agent": config_class}
    backbone_name = values.pop("backbone", None)
    named_only = optional_backbone and default_backbone is None and backbone_name is not None
    if named_only:  # no options of the agent's own to start from: the backbone's defaults
        default_backbone = BackboneSpec(str(backbone_name))
    if default_backbone is not None:
        backbone_name = str(backbone_name or default_backbone.name)
        fields_of["backbone"] = options_class(backbone_name)
    elif any(k.startswith("backbone.") for k in values) or backbone_name is not None:
        raise ConfigError(
            f"backbone options for {agent} need a backbone named (--backbone NAME); without one "
            f"it uses its library's network, set by its own keys (`rlbox list --config {agent}`)"
            if optional_backbone
            else f"{agent} builds no rlbox backbone: its network is set by its own keys "
            f"(`rlbox list --config {agent}`)"
        )
    names = {
        section: {f.name for f in dataclasses.fields(cls)} for section, cls in fields_of.items()
    }
    if "backbone" in names:
        names["backbone"] |= set(USE_KEYS)
    given: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for key, value in values.items():
        section, name = _section_of(key, names, agent)
        if section == "backbone" and name in USE_KEYS:
            value = coerce(name, value, field_type(BackboneUse, name))
        elif section != "env":
            value = coerce(name, value, field_type(fields_of[section], name))
        given[section][name] = value
    run = RunConfig(**given["run"])
    if run.schedule_horizon == 0:  # stored resolved, so that a resume never rescales it
        run = dataclasses.replace(run, schedule_horizon=run.steps)
    backbone = None
    if default_backbone is not None:
        start = default_backbone.options if backbone_name == default_backbone.name else {}
        use = {k: given["backbone"].pop(k) for k in USE_KEYS if k in given["backbone"]}
        options = fields_of["backbone"](**{**start, **given["backbone"]})  # validates
        backbone = BackboneSpec(backbone_name, dataclasses.asdict(options), BackboneUse(**use))
    return Experiment(
        agent, env_id, run, config_class(**given["agent"]), given["env"], backbone,
        None if named_only else default_backbone,
    )  # fmt: skip


def _section_of(key: str, names: dict[str, set[str]], agent: str) -> tuple[str, str]:
    """(section, name) of a bare or dotted key; a one-line error for an unknown section or key
    and for a bare key that more than one section has."""
    section, dot, name = key.partition(".")
    if dot:
        if section not in SECTIONS:
            raise ConfigError(
                f"unknown config section {section!r} in {key!r}; sections: {', '.join(SECTIONS)}"
            )
        if not name:
            raise ConfigError(f"config key {key!r} names no option")
        if section == "env" or name in names[section]:
            return section, name
        known = sorted(names[section])
    else:
        name = key
        having = [s for s, keys in names.items() if name in keys]
        if len(having) == 1:
            return having[0], name
        if having:
            dotted = " or ".join(f"{s}.{name}" for s in having)
            raise ConfigError(f"config key {name!r} is ambiguous: say {dotted}")
        known = [k for section in names.values() for k in sorted(section)]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown config key {key!r} for {agent}{hint}; known: {', '.join(known)}")


def read_config_file(path: Path) -> tuple[str | None, str | None, dict[str, Any]]:
    """(agent, env id, values) of a YAML config: a run's config.yaml (sections `run`,
    `hyperparams`, `backbone`, `env_options`) or a flat mapping of keys, either with optional
    `agent` and `env`."""
    try:
        table = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read --config {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        why = " ".join(str(error).split())
        raise ConfigError(f"--config {path} is not valid YAML: {why}") from None
    if not isinstance(table, dict):
        raise ConfigError(f"--config {path} must be a mapping of config keys to values")
    table = dict(table)
    agent, env_id = table.pop("agent", None), table.pop("env", None)
    values: dict[str, Any] = {}
    for section in ("run", "hyperparams", "env_options", "backbone"):
        part = table.pop(section, None) or {}
        if not isinstance(part, dict):
            raise ConfigError(f"--config {path}: {section} must be a mapping")
        if section == "backbone":
            values.update(_backbone_keys({"backbone": part}))
            continue
        prefix = "env." if section == "env_options" else ""
        values.update({f"{prefix}{k}": v for k, v in part.items()})
    values.update(table)
    for name, value in (("agent", agent), ("env", env_id)):
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"--config {path}: {name} must be a name, got {value!r}")
    return agent, env_id, values


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Parse `key=value` strings; values are read as YAML scalars or lists (`[256,256]`)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value, got {pair!r}")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out
