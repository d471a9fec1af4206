"""Building a run's parts from its config: checking the inputs, the device, the agent on its
training env, and an agent restored from a checkpoint.

Everything that can fail on bad input (agent, env, config, action space, device) is checked
before a run directory is created, so a rejected command leaves nothing on disk.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from functools import partial
from pathlib import Path
from typing import Any

import torch
import yaml

from rlbox.agent import Agent
from rlbox.catalog import AGENTS, check_action_space
from rlbox.config.experiment import Experiment, flat_values, resolve
from rlbox.errors import CheckpointError, ConfigError, MissingExtraError, RlboxError
from rlbox.nn.backbone import BackboneSpec
from rlbox.run import checkpoint
from rlbox.run.rundir import CONFIG_FILE

ATARI_ENTRY_POINT = "ale_py.env:AtariEnv"


def prepare(agent: str, env_id: str, overrides: dict[str, Any]) -> tuple[Experiment, type[Agent]]:
    """Look up the agent and env and resolve the config; raises RlboxError on bad input."""
    from rlbox.envs import check_env_id

    agent_class = AGENTS.get(agent)
    for module, package, extra, *command in getattr(agent_class, "requires", ()):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(package, extra, *command)
    spec = check_env_id(env_id)
    atari = spec.entry_point == ATARI_ENTRY_POINT
    if atari and not getattr(agent_class, "trains_on_atari", True):
        raise RlboxError(
            f"{agent} does not train on Atari ({env_id}): its library's env adapter has no "
            "Atari preprocessing; the own and sb3-* agents do"
        )
    default_backbone = getattr(agent_class, "default_backbone", None)
    if default_backbone is not None:
        default_backbone = partial(backbone_for_observations, env_id, default_backbone)
    experiment = resolve(
        agent, env_id, agent_class.config_class, overrides, default_backbone,
        optional_backbone=getattr(agent_class, "optional_backbone", False),
    )  # fmt: skip
    if experiment.run.backend == "torch":
        from rlbox.envs import torch_env_ids

        if env_id not in torch_env_ids():
            raise RlboxError(f"--backend torch: {env_id} has no torch-native twin; "
                             f"envs that have one: {', '.join(torch_env_ids())}")  # fmt: skip
    experiment = with_history_window(experiment)
    if experiment.backbone is not None and experiment.backbone.use.init_from:
        check_transfer_source(experiment)
    if atari:  # every preprocessing option recorded: the run says what it trained on
        from rlbox.envs.atari import resolved_options

        options = resolved_options(spec, experiment.env_options)
        experiment = dataclasses.replace(experiment, env_options=options)
    if experiment.env_options:
        check_env_options(experiment)
    if experiment.run.video:
        from rlbox.run.video import check_video_support

        check_video_support(env_id, experiment.env_options)
    return experiment, agent_class


def with_history_window(experiment: Experiment) -> Experiment:
    """The experiment with env option `history` set to its backbone's window (a sequence
    backbone reads the last K observations, which the env's HistoryWindow provides), so that
    training, evaluation and recording all see the same windows and config.yaml says so."""
    from rlbox.nn.backbone import BACKBONES

    spec = experiment.backbone
    option = None if spec is None else getattr(BACKBONES.get(spec.name), "window_option", None)
    if option is None:
        return experiment
    window = spec.options[option]
    given = experiment.env_options.get("history")
    if given is not None and given != window:
        raise ConfigError(
            f"env.history={given} differs from backbone.{option}={window}: "
            f"backbone {spec.name!r} sets the env's history window itself"
        )
    if experiment.run.backend == "torch":
        raise ConfigError(
            f"backbone {spec.name!r} reads windows of the last {window} observations, which "
            "only the gymnasium backend makes; use --backend gymnasium"
        )
    options = {**experiment.env_options, "history": window}
    return dataclasses.replace(experiment, env_options=options)


def check_transfer_source(experiment: Experiment) -> None:
    """A one-line error unless `backbone.init_from` names a run with a checkpoint whose backbone
    is this one's (name and options)."""
    spec = experiment.backbone
    source = Path(spec.use.init_from)
    try:
        saved = read_experiment(source)
    except CheckpointError as error:
        raise CheckpointError(f"backbone.init_from={source}: {error}") from None
    if saved.backbone is None or (saved.backbone.name, saved.backbone.options) != (
        spec.name,
        spec.options,
    ):
        theirs = "none" if saved.backbone is None else saved.backbone.name
        raise ConfigError(
            f"backbone.init_from={source}: that run's backbone ({theirs}, "
            f"{'' if saved.backbone is None else saved.backbone.options}) is not this one's "
            f"({spec.name}, {spec.options})"
        )
    if not checkpoint.list_checkpoints(source / "checkpoints"):
        raise CheckpointError(f"backbone.init_from={source}: that run has no checkpoint yet")


def transfer_backbone(agent: Agent, experiment: Experiment) -> None:
    """Load the backbone of the run `backbone.init_from` names (its newest checkpoint) into each
    of `agent`'s backbones; the input shapes must match (the weights' shapes say so)."""
    source = Path(experiment.backbone.use.init_from)
    saved = read_experiment(source)
    newest = checkpoint.list_checkpoints(source / "checkpoints")[-1]
    donor = load_agent(saved, newest).backbones()[0].state_dict()
    for backbone in agent.backbones():
        try:
            backbone.load_state_dict(donor)
        except RuntimeError:
            raise ConfigError(
                f"backbone.init_from={source}: its backbone was built for other observations "
                f"({saved.env_id}) than this run's ({experiment.env_id})"
            ) from None


def backbone_for_observations(
    env_id: str, agent_default: BackboneSpec, env_options: dict[str, Any]
) -> BackboneSpec:
    """The default backbone for `env_id`'s observations: the Nature CNN for images (Atari's
    frame stacks), else the agent's own (an MLP). Options the env refuses leave the agent's
    default; `check_env_options` then names them."""
    import gymnasium as gym

    from rlbox.envs import make_eval
    from rlbox.nn.cnn import is_image

    try:
        env = make_eval(env_id, **env_options)
    except (RlboxError, TypeError, ValueError, LookupError, AssertionError, gym.error.Error):
        return agent_default
    space = env.observation_space
    env.close()
    return BackboneSpec("nature_cnn", {}) if is_image(space) else agent_default


def check_env_options(experiment: Experiment) -> None:
    """A one-line error for `env.<kwarg>` values that `gymnasium.make` refuses, by making the
    evaluation env with them (the training env takes the same options)."""
    import gymnasium as gym

    from rlbox.envs import make_eval

    options = experiment.env_options
    if experiment.run.backend == "torch":
        raise ConfigError("env.* options go to gymnasium.make; the torch backend takes none")
    try:
        make_eval(experiment.env_id, **options).close()
    except (TypeError, ValueError, LookupError, AssertionError, gym.error.Error) as error:
        given = ", ".join(f"env.{k}={v!r}" for k, v in options.items())
        why = " ".join(str(error).split())
        raise ConfigError(f"{experiment.env_id} refuses {given}: {why}") from None


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_device(name: str) -> torch.device:
    """The torch device `name` stands for; a one-line error if this machine has no such device."""
    device = resolve_device(name)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise RlboxError(f"--device {name} was asked for, but torch sees no CUDA device")
        if device.index is not None and device.index >= count:
            raise RlboxError(f"--device {name}: torch sees {count} CUDA device(s), 0..{count - 1}")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise RlboxError(f"--device {name} was asked for, but torch sees no MPS device")
    return device


def build_agent(experiment: Experiment, agent_class: type[Agent]) -> Agent:
    from rlbox import envs

    run = experiment.run
    torch.set_num_threads(run.torch_threads)
    # Denormal floats (below 1.2e-38: gradients through a saturated tanh, Adam's second moments
    # of such gradients) are orders of magnitude slower on x86 CPUs; as zeros they change no
    # result that matters, and SAC trains about 1.2x faster on Pendulum (experiments/
    # bench_offpolicy_vs_sb3.py). Process-wide, as the thread count above.
    torch.set_flush_denormal(True)
    device = check_device(run.device)
    env = envs.make(
        experiment.env_id, run.num_envs, seed=run.seed, device=device, backend=run.backend,
        **experiment.env_options,
    )  # fmt: skip
    check_action_space(experiment.agent, agent_class, env.single_action_space, experiment.env_id)
    # Only agents that build their network through rlbox.nn take a backbone (see resolve).
    backbone = {} if experiment.backbone is None else {"backbone": experiment.backbone}
    return agent_class(
        env, experiment.agent_config, device=device, seed=run.seed,
        horizon=run.schedule_horizon, **backbone,
    )  # fmt: skip


def check_out_dir(out: Path) -> None:
    """A one-line error if `out` cannot be a folder: it, or a folder above it, is a file."""
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                raise RlboxError(f"--out {out}: {path} is a file, not a folder")
            return


def read_experiment(run_dir: Path) -> Experiment:
    """The experiment a run directory was made for, as written in its config.yaml."""
    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory (no {CONFIG_FILE})")
    try:
        saved = yaml.safe_load(path.read_text())
        experiment, _ = prepare(saved["agent"], saved["env"], flat_values(saved))
    except (yaml.YAMLError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path} is not a valid run config: {error!r}") from None
    return experiment


def load_agent(experiment: Experiment, checkpoint_dir: Path, *, with_info: bool = False) -> Any:
    """Build the experiment's agent and restore it from a checkpoint (and return the
    checkpoint's info too, `with_info`)."""
    state, info = checkpoint.load(checkpoint_dir)
    agent = build_agent(experiment, AGENTS.get(experiment.agent))
    try:
        agent.load_state_dict(state)
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError) as error:
        raise CheckpointError(f"{checkpoint_dir} does not fit this agent: {error!r}") from None
    return (agent, info) if with_info else agent
