"""What every `tfa-*` agent shares: TF-Agents' agent on adapted Gymnasium envs, the step
accounting, `act` on torch tensors, checkpoints in TF-Agents' own format, and the two training
loops TF-Agents' examples use (replay for DQN, C51 and SAC; whole rollouts for REINFORCE and
PPO).

- Environments: `num_envs` copies of `gymnasium.make(env_id)` through rlbox's PyEnvironment
  adapter (rlbox.agents.tfagents.env), batched by TF-Agents' BatchedPyEnvironment and stepped by
  its PyDriver with the policy compiled by `tf.function`. Copy i is seeded `seed + i`, as in
  rlbox's own vector env.
- Steps: `learn(steps)` continues where the last call stopped and takes `steps` more env steps
  (to within one vector step; the runner stops at the budget); steps are real env steps
  (TF-Agents' reset steps are not counted). Schedules (rlbox.agents.common.schedules) run
  over the run's schedule horizon and hold their final values past it.
- Checkpoints: `common.Checkpointer`'s files (`checkpoint`, `ckpt-N.index`, `ckpt-N.data-*`:
  agent, networks, optimizers, train step) are stored as they are in the run's checkpoint
  directory, so TF-Agents can restore from that directory by itself. A replay buffer is a
  second Checkpointer's files under the top-level key "buffer" (files `buffer.*`), which the
  runner leaves out of `checkpoints/best/`; a state without it restores with an empty buffer.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.agents.common.schedules import decay
from rlbox.config.fields import check, param
from rlbox.envs.base import VectorEnv
from rlbox.errors import RlboxError

INSTALL = "make tfagents"  # see the Makefile: TensorFlow, then tf-agents with --no-deps
REQUIRES = (
    ("tensorflow", "tensorflow", "tfagents", INSTALL),
    ("tf_keras", "tf-keras", "tfagents", INSTALL),
    ("tensorflow_probability", "tensorflow-probability", "tfagents", INSTALL),
    ("tf_agents", "tf-agents", "tfagents", INSTALL),
    ("gym", "gym", "tfagents", INSTALL),  # tf_agents.system imports it
)


@dataclass(frozen=True)
class TFAConfig:
    learning_rate: float = param(1e-3, "Learning rate (Adam).")
    gamma: float = param(0.99, "Discount factor.")
    fc_layer_params: tuple[int, ...] = param((100,), "Hidden layer sizes of the networks.")
    activation: Literal["relu", "tanh"] = param("relu", "Hidden activation.")
    gradient_clipping: float = param(0.0, "Clip each gradient's norm to this (0: off).")

    def __post_init__(self) -> None:
        check(self.learning_rate > 0, "learning_rate", "must be positive")
        check(0.0 <= self.gamma <= 1.0, "gamma", f"must be in [0, 1], got {self.gamma}")
        check(all(h > 0 for h in self.fc_layer_params), "fc_layer_params", "must be positive")
        check(self.gradient_clipping >= 0, "gradient_clipping", "must be >= 0")


@dataclass(frozen=True)
class TFAOffPolicyConfig(TFAConfig):
    buffer_size: int = param(100_000, "Replay buffer capacity (transitions).")
    learning_starts: int = param(1_000, "Env steps of random actions before learning starts.")
    batch_size: int = param(64, "Minibatch size.")
    train_freq: int = param(1, "Env steps (summed over copies) between rounds of updates.")
    gradient_steps: int = param(1, "Gradient steps per round.")

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("buffer_size", "batch_size", "train_freq", "gradient_steps"):
            check(getattr(self, key) >= 1, key, f"must be >= 1, got {getattr(self, key)}")
        check(self.learning_starts >= 0, "learning_starts", "must be >= 0")


def import_tensorflow(device: torch.device) -> Any:
    """TensorFlow, configured before its runtime starts: as many threads as torch has, and no
    GPU unless the run's device is one."""
    from rlbox.agents.tfagents.env import tf  # sets TF's environment variables first

    if not tf.keras.layers.Dense.__module__.startswith("tf_keras"):
        raise RlboxError(
            "TensorFlow was imported before rlbox could set TF_USE_LEGACY_KERAS=1, so it uses "
            "Keras 3, which TF-Agents cannot; set TF_USE_LEGACY_KERAS=1 in the environment"
        )
    try:
        tf.config.threading.set_intra_op_parallelism_threads(torch.get_num_threads())
        tf.config.threading.set_inter_op_parallelism_threads(1)
        if device.type != "cuda":
            tf.config.set_visible_devices([], "GPU")
    except RuntimeError:  # the runtime started already (a second agent in this process)
        pass
    return tf


def activation_fn(name: str) -> Any:
    import tensorflow as tf

    return {"relu": tf.keras.activations.relu, "tanh": tf.keras.activations.tanh}[name]


class TFAgentsAgent:
    """A TF-Agents agent on adapted Gymnasium envs; subclasses build it and train it."""

    config_class: ClassVar[type] = TFAConfig
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]
    requires: ClassVar = REQUIRES
    trains_on_atari: ClassVar[bool] = False  # the PyEnvironment adapter sees raw Gymnasium envs

    def __init__(
        self, env: VectorEnv, config: TFAConfig, *, device: torch.device, seed: int, horizon: int
    ) -> None:
        from rlbox.envs.gymnasium_vector import GymnasiumVectorEnv

        if not isinstance(env, GymnasiumVectorEnv):
            raise RlboxError("tfa-* agents train on Gymnasium's envs; drop --backend torch")
        tf = import_tensorflow(torch.device(device))
        from tf_agents.specs import tensor_spec

        from rlbox.agents.tfagents.env import BatchedGymnasium

        self.config = config
        self.device = torch.device(device)
        self.seed = seed
        self.horizon = horizon
        env.close()  # rlbox's vector env gave the id, size and spaces; TF-Agents steps its own
        tf.random.set_seed(seed)
        self.envs = BatchedGymnasium(
            env.env_id, env.num_envs, seed, getattr(env, "options", {}), getattr(env, "history", 0)
        )
        self.py_env = self.envs.env
        self.time_step_spec = tensor_spec.from_spec(self.py_env.time_step_spec())
        self.action_spec = tensor_spec.from_spec(self.py_env.action_spec())
        self.observation_shape = tuple(env.single_observation_space.shape)
        self.train_step = tf.Variable(0, dtype=tf.int64, name="train_step")  # int64: summaries
        self.agent = self.build()
        self.agent.initialize()
        self._time_step = None  # the envs' current time step; None: reset at the next learn
        self._steps_before = 0  # env steps of the run before this process (resume)
        self._act_fns: dict[bool, Any] = {}

    def build(self) -> Any:
        """The TF-Agents agent, built on `time_step_spec`, `action_spec`, `train_step`."""
        raise NotImplementedError

    def optimizer(self, learning_rate: float | None = None) -> Any:
        import tensorflow as tf

        return tf.keras.optimizers.Adam(learning_rate=learning_rate or self.config.learning_rate)

    def learning_rate_at(self, step: int) -> float:
        """The config's learning rate, decayed linearly to 0 over the horizon (then 0) where the
        config has `lr_schedule: linear` (tfa-dqn, tfa-ppo)."""
        c = self.config
        return decay(getattr(c, "lr_schedule", "constant"), c.learning_rate, self.horizon)(step)

    @property
    def env_steps(self) -> int:
        return self._steps_before + self.envs.steps

    # --- training ----------------------------------------------------------------------------

    def learn(self, steps: int) -> dict[str, float]:
        target = self.env_steps + steps
        if self._time_step is None:
            # A fresh start or a resume: reseed so that a resumed run draws new episodes.
            self.envs.reseed(self.seed + self.env_steps)
            self._time_step = self.py_env.reset()
        self.envs.take_finished()
        metrics = self.train_until(target) if self.env_steps < target else {}
        episodes = self.envs.take_finished()
        metrics["episodes"] = float(len(episodes))
        if episodes:
            metrics["train_return"] = float(np.mean([r for r, _ in episodes]))
            metrics["train_length"] = float(np.mean([n for _, n in episodes]))
        return metrics

    def train_until(self, target: int) -> dict[str, float]:
        """Collect and train until `env_steps` reaches `target`; return the chunk's metrics."""
        raise NotImplementedError

    def collect(
        self, policy: Any, observers: list, max_steps: int = 0, max_episodes: int = 0
    ) -> int:
        """Step the envs with a PyPolicy through TF-Agents' PyDriver; return the env steps."""
        from tf_agents.drivers import py_driver

        before = self.envs.steps
        driver = py_driver.PyDriver(
            self.py_env, policy, observers, max_steps=max_steps, max_episodes=max_episodes
        )
        self._time_step, _ = driver.run(self._time_step)
        return self.envs.steps - before

    def py_policy(self, tf_policy: Any) -> Any:
        """A TF policy as the PyPolicy the driver needs, its `action` compiled once."""
        from tf_agents.policies import py_tf_eager_policy

        return py_tf_eager_policy.PyTFEagerPolicy(
            tf_policy, use_tf_function=True, batch_time_steps=False
        )

    # --- acting --------------------------------------------------------------------------------

    def sampling_policy(self) -> Any:
        return self.agent.policy

    def act(self, obs: Tensor, deterministic: bool = True) -> Tensor:
        if deterministic not in self._act_fns:
            self._act_fns[deterministic] = self._compile_act(deterministic)
        x = obs.detach().cpu().numpy().astype(np.float32, copy=False)
        action = self._act_fns[deterministic](x).numpy()
        return torch.as_tensor(action, device=obs.device)

    def _compile_act(self, deterministic: bool) -> Any:
        import tensorflow as tf
        from tf_agents.policies import greedy_policy
        from tf_agents.trajectories import time_step as ts

        policy = (
            greedy_policy.GreedyPolicy(self.agent.policy)
            if deterministic
            else self.sampling_policy()
        )
        signature = [tf.TensorSpec([None, *self.observation_shape], tf.float32)]

        @tf.function(input_signature=signature)
        def act(observation: Any) -> Any:
            batch = tf.shape(observation)[:1]
            time_step = ts.TimeStep(
                step_type=tf.fill(batch, ts.StepType.FIRST), reward=tf.zeros(batch),
                discount=tf.ones(batch), observation=observation,
            )  # fmt: skip
            return policy.action(time_step).action

        return act

    # --- checkpoints ---------------------------------------------------------------------------

    def trackables(self) -> dict[str, Any]:
        """What TF-Agents' Checkpointer saves: the agent (networks, optimizers, normalizers)
        and the train step."""
        return {"agent": self.agent, "train_step": self.train_step}

    def replay_buffer(self) -> Any:
        """The replay buffer of an off-policy agent, checkpointed apart; None: there is none."""
        return None

    def counters(self) -> dict[str, Any]:
        return {"env_steps": self.env_steps}

    def state_dict(self) -> dict[str, Any]:
        state = {**self._checkpoint_files(self.trackables()), "counters": self.counters()}
        buffer = self.replay_buffer()
        if buffer is not None:
            state["buffer"] = self._checkpoint_files({"replay_buffer": buffer})
        return state

    def _checkpoint_files(self, trackables: dict[str, Any]) -> dict[str, bytes]:
        from tf_agents.utils import common

        with tempfile.TemporaryDirectory() as tmp:
            common.Checkpointer(tmp, max_to_keep=1, **trackables).save(self.train_step)
            return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        # Kept as long as the agent: TF restores variables created later (the optimizers' slots,
        # made at the first update) from the files when they appear.
        self._restored_from = tempfile.TemporaryDirectory(prefix="rlbox-tfa-")
        tmp = Path(self._restored_from.name)
        self._restore(tmp / "agent", state, self.trackables())
        buffer = self.replay_buffer()
        if buffer is not None and "buffer" in state:  # else the buffer starts empty
            self._restore(tmp / "buffer", state["buffer"], {"replay_buffer": buffer})
        counters = state["counters"]
        self._steps_before = int(counters["env_steps"]) - self.envs.steps
        self.load_counters(counters)
        self._time_step = None  # reset (and reseed) the envs at the next `learn`

    def load_counters(self, counters: dict[str, Any]) -> None:
        pass

    @staticmethod
    def _restore(directory: Path, state: dict[str, Any], trackables: dict[str, Any]) -> None:
        """Restore `trackables` from the Checkpointer files among `state`'s bytes values."""
        from tf_agents.utils import common

        files = {k: v for k, v in state.items() if isinstance(v, bytes)}
        if not any(name.endswith(".index") for name in files):
            raise ValueError("no TF-Agents checkpoint in this state")
        directory.mkdir()
        for name, data in files.items():
            (directory / name).write_bytes(data)
        checkpointer = common.Checkpointer(str(directory), **trackables)
        if not checkpointer.checkpoint_exists:
            raise ValueError("the TF-Agents checkpoint has no `checkpoint` index file")
        checkpointer.initialize_or_restore().assert_existing_objects_matched()


# --- the replay loop of DQN, C51 and SAC ---------------------------------------------------------


class ReplayLoop:
    """TF-Agents' off-policy recipe around an agent: a uniform replay buffer filled by the
    driver, random actions for `learning_starts` steps, then `gradient_steps` updates every
    `train_freq` env steps on minibatches of `n_step + 1` consecutive steps."""

    def __init__(
        self,
        owner: TFAgentsAgent,
        config: TFAOffPolicyConfig,
        n_step: int = 1,
        weights: Any = None,
    ) -> None:
        import tensorflow as tf
        from tf_agents.policies import random_tf_policy
        from tf_agents.replay_buffers import tf_uniform_replay_buffer

        self.owner = owner
        self.config = config
        agent, batch = owner.agent, owner.py_env.batch_size
        self.buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
            agent.collect_data_spec, batch_size=batch,
            max_length=max(config.buffer_size // batch, n_step + 2),
        )  # fmt: skip
        add_batch = tf.function(lambda items: self.buffer.add_batch(items) and None)
        self.add = add_batch
        self.random_policy = owner.py_policy(
            random_tf_policy.RandomTFPolicy(owner.time_step_spec, owner.action_spec)
        )
        self.collect_policy = owner.py_policy(agent.collect_policy)
        self.n_step = n_step
        self._iterator = None
        self.since_update = 0  # env steps since the last round of updates
        # `weights(experience)`: per-sample weights of the loss (DQN drops some n-step windows)
        self.train = tf.function(
            agent.train if weights is None else lambda xp: agent.train(xp, weights=weights(xp))
        )

    def sample(self) -> Any:
        if self._iterator is None:
            dataset = self.buffer.as_dataset(
                sample_batch_size=self.config.batch_size, num_steps=self.n_step + 1,
                num_parallel_calls=1,
            ).prefetch(2)  # fmt: skip
            self._iterator = iter(dataset)
        experience, _ = next(self._iterator)
        return experience

    def run(self, target: int, before_update: Any = None) -> dict[str, Any]:
        """Collect and update until the owner's env steps reach `target`. Returns the losses
        (a list of LossInfo) and the number of updates."""
        c, owner = self.config, self.owner
        losses = []
        while owner.env_steps < target:
            remaining = target - owner.env_steps
            if owner.env_steps < c.learning_starts:
                todo = min(c.learning_starts - owner.env_steps, remaining)
                owner.collect(self.random_policy, [self.add], max_steps=todo)
                continue
            todo = min(c.train_freq - self.since_update, remaining)
            self.since_update += owner.collect(self.collect_policy, [self.add], max_steps=todo)
            if self.since_update < c.train_freq:
                continue
            self.since_update = 0
            if before_update is not None:
                before_update()
            for _ in range(c.gradient_steps):
                losses.append(self.train(self.sample()))
        return {"losses": losses}


# --- the rollout loop of REINFORCE and PPO ------------------------------------------------------


class RolloutLoop:
    """TF-Agents' on-policy recipe: the collect policy fills a rollout of whole vector steps
    (a [copies, time] batch of trajectories, reset steps included, as TF-Agents' agents expect),
    the agent trains on it once and it is dropped. A rollout may span `learn` calls; one left
    unfinished when the run ends is not trained on (nor checkpointed)."""

    def __init__(self, owner: TFAgentsAgent) -> None:
        import tensorflow as tf

        self.owner = owner
        self.policy = owner.py_policy(owner.agent.collect_policy)
        self.items: list = []  # trajectories of the current rollout, one per vector step
        self.steps = 0  # env steps in it
        self.train = tf.function(owner.agent.train, reduce_retracing=True)

    def collect(self, max_steps: int = 0, max_episodes: int = 0) -> None:
        self.steps += self.owner.collect(self.policy, [self.items.append], max_steps, max_episodes)

    @property
    def episodes(self) -> int:
        """Episodes that ended in the current rollout."""
        return int(sum(np.sum(item.is_last()) for item in self.items))

    def train_on_rollout(self) -> Any:
        import tensorflow as tf

        experience = tf.nest.map_structure(lambda *xs: np.stack(xs, axis=1), *self.items)
        self.items, self.steps = [], 0
        return self.train(experience)


def loss_metrics(losses: list) -> dict[str, float]:
    """Means over a chunk's updates of the loss and of every scalar in LossInfo.extra."""
    if not losses:
        return {}
    out = {"loss": float(np.mean([float(info.loss) for info in losses])), "updates": len(losses)}
    extra = losses[0].extra
    names = getattr(extra, "_fields", ())
    for name in names:
        values = [getattr(info.extra, name) for info in losses]
        if all(np.ndim(v) == 0 for v in values):
            out[name] = float(np.mean([float(v) for v in values]))
    return out
