"""On-policy storage: fixed-length rollouts with GAE, and whole episodes for Monte-Carlo returns.

Both store, per step and env copy, the value of the state and a `bootstrap` value: V(s_final)
where the episode was truncated (TimeLimit), 0 otherwise. A truncated episode did not end in
the MDP, so its return continues past the cut; a terminated one ends there.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor


def gae(
    reward: Tensor,
    value: Tensor,
    next_value: Tensor,
    terminated: Tensor,
    done: Tensor,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """Generalized advantage estimation (Schulman et al., 2016, eq. 16) over [T, N] tensors.

    next_value[t] is V of the state step t led to (the final observation when the episode
    ended there). delta_t = r_t + gamma (1 - terminated_t) next_value_t - V(s_t) and
    A_t = delta_t + gamma lambda (1 - done_t) A_{t+1}. Returns (advantages, value targets).
    """
    not_terminated = 1.0 - terminated.float()
    not_done = 1.0 - done.float()
    delta = reward + gamma * not_terminated * next_value - value
    advantages = torch.empty_like(reward)
    running = torch.zeros_like(reward[0])
    for t in range(reward.shape[0] - 1, -1, -1):
        running = delta[t] + gamma * lam * not_done[t] * running
        advantages[t] = running
    return advantages, advantages + value


@dataclass
class Rollout:
    """A batch for an on-policy update, flattened over time and env copies."""

    obs: Tensor
    action: Tensor
    logprob: Tensor
    value: Tensor
    advantage: Tensor
    returns: Tensor

    def select(self, index: Tensor) -> Rollout:
        """The transitions at `index` (a minibatch)."""
        return Rollout(*(getattr(self, f.name)[index] for f in fields(self)))


@dataclass(frozen=True)
class StepLayout:
    """What one vector step stores per env copy, and where: the shapes and dtypes of storage."""

    num_envs: int
    obs_shape: tuple[int, ...]
    obs_dtype: torch.dtype
    action_shape: tuple[int, ...]
    action_dtype: torch.dtype
    device: torch.device


class RolloutBuffer:
    """T steps of N env copies, preallocated as [T, N, ...] tensors on the device, whose
    advantages are GAE(gamma, lambda) once full. Observations keep `layout.obs_dtype`."""

    FIELDS = ("obs", "action", "logprob", "value", "reward", "terminated", "done", "bootstrap")

    def __init__(
        self, n_steps: int, layout: StepLayout, *, gamma: float, gae_lambda: float
    ) -> None:
        self.n_steps = n_steps
        self.gamma = gamma
        self.gae_lambda = gae_lambda
        t, n, device = n_steps, layout.num_envs, layout.device
        self.obs = torch.zeros((t, n, *layout.obs_shape), dtype=layout.obs_dtype, device=device)
        self.action = torch.zeros(
            (t, n, *layout.action_shape), dtype=layout.action_dtype, device=device
        )
        for key in ("logprob", "value", "reward", "terminated", "done", "bootstrap"):
            setattr(self, key, torch.zeros((t, n), device=device))
        self.pos = 0

    @property
    def full(self) -> bool:
        return self.pos == self.n_steps

    def state_dict(self) -> dict:
        """The steps of the rollout in progress."""
        return {"pos": self.pos, **{key: getattr(self, key)[: self.pos] for key in self.FIELDS}}

    def load_state_dict(self, state: dict) -> None:
        self.pos = int(state["pos"])
        for key in self.FIELDS:
            getattr(self, key)[: self.pos] = state[key]

    def add(self, obs: Tensor, action: Tensor, logprob: Tensor, value: Tensor, reward: Tensor,
            terminated: Tensor, done: Tensor, bootstrap: Tensor) -> None:  # fmt: skip
        t = self.pos
        self.obs[t], self.action[t], self.logprob[t], self.value[t] = obs, action, logprob, value
        self.reward[t], self.terminated[t], self.done[t] = reward, terminated, done
        self.bootstrap[t] = bootstrap
        self.pos += 1

    def compute(self, last_value: Tensor) -> Rollout:
        """GAE over the full buffer, which it empties; `last_value` is V of the observation
        after its last step."""
        next_value = torch.cat([self.value[1:], last_value.unsqueeze(0)])
        next_value = torch.where(self.done.bool(), self.bootstrap, next_value)
        advantage, returns = gae(
            self.reward, self.value, next_value, self.terminated, self.done,
            self.gamma, self.gae_lambda,
        )  # fmt: skip
        self.pos = 0
        return Rollout(
            obs=self.obs.flatten(0, 1),
            action=self.action.flatten(0, 1),
            logprob=self.logprob.flatten(),
            value=self.value.flatten(),
            advantage=advantage.flatten(),
            returns=returns.flatten(),
        )


class EpisodeBuffer:
    """Steps of N env copies kept until their episodes end, for Monte-Carlo returns.

    `take` returns every step whose episode has ended and not been used yet, with its return
    G_t = r_t + gamma G_{t+1} (G after a truncation = V(final observation)). Steps of episodes
    still running stay for the next call.
    """

    FIELDS = ("obs", "action", "logprob", "value", "reward", "terminated", "done", "bootstrap")

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.rows: dict[str, list[Tensor]] = {key: [] for key in self.FIELDS}
        self.used: Tensor | None = None  # [rows, N]: step already used in an update
        self.ended: Tensor | int = 0  # episodes ended since the last take, on the device

    def __len__(self) -> int:
        return len(self.rows["done"])

    @property
    def episodes(self) -> int:
        """Episodes ended since the last `take` (a question to the device)."""
        return int(self.ended)

    def state_dict(self) -> dict:
        """The steps kept for episodes still running, and which of them were used."""
        state: dict = {"rows": {key: list(v) for key, v in self.rows.items()}}
        state["ended"] = torch.as_tensor(self.ended)
        if self.used is not None:
            state["used"] = self.used
        return state

    def load_state_dict(self, state: dict) -> None:
        self.rows = {key: [v.to(self.device) for v in state["rows"][key]] for key in self.FIELDS}
        self.used = state["used"].to(self.device) if "used" in state else None
        self.ended = state["ended"].to(self.device)

    def add(self, obs: Tensor, action: Tensor, logprob: Tensor, value: Tensor, reward: Tensor,
            terminated: Tensor, done: Tensor, bootstrap: Tensor) -> None:  # fmt: skip
        values = (obs, action, logprob, value, reward, terminated, done, bootstrap)
        for key, v in zip(self.FIELDS, values, strict=True):
            self.rows[key].append(v)
        self.ended = self.ended + done.sum()

    def take(self, gamma: float) -> Rollout | None:
        if self.episodes == 0:
            return None
        data = {key: torch.stack(v) for key, v in self.rows.items()}
        t_max, n = data["reward"].shape
        device = data["reward"].device
        returns = torch.zeros_like(data["reward"])
        running = torch.zeros(n, device=device)
        for t in range(t_max - 1, -1, -1):
            continuing = running * (1.0 - data["done"][t]) + data["bootstrap"][t]
            running = data["reward"][t] + gamma * (1.0 - data["terminated"][t]) * continuing
            returns[t] = running
        # A step is complete if an episode end follows it (or is it) in the same copy.
        ends_after = torch.flip(torch.cummax(torch.flip(data["done"], [0]), 0).values, [0])
        complete = ends_after.bool()
        used = torch.zeros_like(complete)
        if self.used is not None:
            used[: self.used.shape[0]] = self.used
        mask = complete & ~used
        # Keep the rows from the earliest still-running step on; mark what was used.
        running_rows = (~complete).any(1).nonzero()
        first_kept = int(running_rows[0]) if len(running_rows) else t_max
        for key in self.FIELDS:
            self.rows[key] = self.rows[key][first_kept:]
        self.used = (complete | used)[first_kept:]
        self.ended = 0
        flat = mask.flatten()
        return Rollout(
            obs=data["obs"].flatten(0, 1)[flat],
            action=data["action"].flatten(0, 1)[flat],
            logprob=data["logprob"].flatten()[flat],
            value=data["value"].flatten()[flat],
            advantage=(returns - data["value"]).flatten()[flat],
            returns=returns.flatten()[flat],
        )
