"""Replay storage for off-policy agents: n-step folding, uniform and prioritized replay.

Transitions are stored already folded into n-step form (obs, action, return, bootstrap obs,
bootstrap discount), so a loss never needs to know n:

    target = return + discount * V(next_obs)

where `discount` is gamma^m, or 0 when the episode terminated within the m <= n steps, and
`next_obs` is the observation the m-th step led to (the true final observation when the episode
was truncated, so truncation still bootstraps).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rlbox.envs.base import Step
from rlbox.errors import ConfigError, check


def check_replay_config(config: Any) -> None:
    """The config checks every replay-based agent shares (DQN, SAC, TD3): sizes and periods of
    at least 1, a batch the buffer can hold, gamma in [0, 1], tau in (0, 1]."""
    for key in ("batch_size", "buffer_size", "train_freq", "gradient_steps"):
        check(getattr(config, key) >= 1, key, f"must be >= 1, got {getattr(config, key)}")
    check(
        config.batch_size <= config.buffer_size,
        "batch_size",
        f"{config.batch_size} is more than buffer_size {config.buffer_size} can ever hold",
    )
    check(config.learning_starts >= 0, "learning_starts", "must be >= 0")
    check(0.0 <= config.gamma <= 1.0, "gamma", f"must be in [0, 1], got {config.gamma}")
    check(0.0 < config.tau <= 1.0, "tau", f"must be in (0, 1], got {config.tau}")


def check_buffer_holds_a_step(buffer_size: int, num_envs: int) -> None:
    """A one-line error if one vector step's transitions do not fit in the buffer."""
    if num_envs > buffer_size:
        raise ConfigError(
            f"invalid value for 'buffer_size': {buffer_size} is less than one vector "
            f"step of num_envs={num_envs} transitions"
        )


@dataclass
class Batch:
    obs: Tensor
    action: Tensor
    reward: Tensor
    next_obs: Tensor
    discount: Tensor
    index: Tensor
    weight: Tensor | None = None


@dataclass
class Transitions:
    """N transitions, one per environment copy."""

    obs: Tensor
    action: Tensor
    reward: Tensor
    next_obs: Tensor
    discount: Tensor


class NStepFolder:
    """Folds the last n steps of each env copy into n-step transitions.

    Call `push` once per vector step; from the n-th call on it returns the transition that
    started n - 1 steps ago in every copy. An episode end inside the window cuts the return
    there and bootstraps from that step's final observation (or not at all if it terminated).
    """

    def __init__(self, n: int, gamma: float) -> None:
        self.n = n
        self.gamma = gamma
        self.pushed = 0
        self._ring: dict[str, Tensor] = {}
        self._order: list[Tensor] = []

    def push(self, obs: Tensor, action: Tensor, step: Step) -> Transitions | None:
        if self.n == 1:
            discount = self.gamma * (~step.terminated).float()
            return Transitions(obs, action, step.reward, step.final_obs, discount)
        fields = {
            "obs": obs,
            "action": action,
            "reward": step.reward,
            "done": step.done,
            "terminated": step.terminated,
            "final_obs": step.final_obs,
        }
        if not self._ring:
            self._allocate(fields)
        slot = self.pushed % self.n
        for key, value in fields.items():
            self._ring[key][slot] = value
        self.pushed += 1
        if self.pushed < self.n:
            return None
        order = self._order[self.pushed % self.n]  # oldest slot first
        reward, done = self._ring["reward"][order], self._ring["done"][order]
        # alive[k]: the episode of the window's first step is still running at step k
        alive = torch.ones_like(reward)
        alive[1:] = torch.cumprod((~done[:-1]).float(), dim=0)
        n_return = (alive * reward * self._powers[:, None]).sum(0)
        last = alive.sum(0).long() - 1  # the window's last step inside that episode
        oldest = self.pushed % self.n
        taken = order[last]
        ended = self._ring["terminated"][taken, self._copies]
        discount = self._powers[last] * self.gamma * (~ended).float()
        return Transitions(
            obs=self._ring["obs"][oldest].clone(),  # the ring slot is overwritten next push
            action=self._ring["action"][oldest].clone(),
            reward=n_return,
            next_obs=self._ring["final_obs"][taken, self._copies],
            discount=discount,
        )

    def state_dict(self) -> dict:
        """The steps of the open windows: without them a resume would drop n - 1 transitions."""
        return {"pushed": self.pushed, "ring": dict(self._ring)}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.pushed = int(state["pushed"])
        self._ring = {key: value.to(device) for key, value in state["ring"].items()}
        if self._ring:
            self._index(device, self._ring["reward"].shape[1])

    def _allocate(self, fields: dict[str, Tensor]) -> None:
        for key, value in fields.items():
            self._ring[key] = torch.zeros(
                (self.n, *value.shape), dtype=value.dtype, device=value.device
            )
        self._index(fields["reward"].device, fields["reward"].shape[0])

    def _index(self, device: torch.device, copies: int) -> None:
        self._order = [torch.arange(i, i + self.n, device=device) % self.n for i in range(self.n)]
        self._powers = self.gamma ** torch.arange(self.n, dtype=torch.float32, device=device)
        self._copies = torch.arange(copies, device=device)


class ReplayBuffer:
    """A ring buffer of transitions, preallocated on `device`, sampled uniformly."""

    def __init__(
        self,
        capacity: int,
        obs_shape: tuple[int, ...],
        obs_dtype: torch.dtype,
        action_shape: tuple[int, ...],
        action_dtype: torch.dtype,
        device: torch.device,
    ) -> None:
        self.capacity = capacity
        self.device = device
        self.obs = torch.zeros((capacity, *obs_shape), dtype=obs_dtype, device=device)
        self.next_obs = torch.zeros_like(self.obs)
        self.action = torch.zeros((capacity, *action_shape), dtype=action_dtype, device=device)
        self.reward = torch.zeros(capacity, dtype=torch.float32, device=device)
        self.discount = torch.zeros(capacity, dtype=torch.float32, device=device)
        self.pos = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, t: Transitions) -> Tensor | slice:
        """Store a batch of transitions; return the slots they went to."""
        n = t.reward.shape[0]
        if self.pos + n <= self.capacity:
            index = slice(self.pos, self.pos + n)
        else:
            index = (torch.arange(n, device=self.device) + self.pos) % self.capacity
        self.obs[index] = t.obs
        self.next_obs[index] = t.next_obs
        self.action[index] = t.action
        self.reward[index] = t.reward
        self.discount[index] = t.discount
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)
        return index

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        index = torch.randint(self.size, (batch_size,), generator=generator, device=self.device)
        return self._gather(index)

    def _gather(self, index: Tensor) -> Batch:
        return Batch(
            obs=self.obs[index],
            action=self.action[index],
            reward=self.reward[index],
            next_obs=self.next_obs[index],
            discount=self.discount[index],
            index=index,
        )

    def state_dict(self) -> dict:
        return {
            "obs": self.obs[: self.size],
            "next_obs": self.next_obs[: self.size],
            "action": self.action[: self.size],
            "reward": self.reward[: self.size],
            "discount": self.discount[: self.size],
            "pos": self.pos,
        }

    def load_state_dict(self, state: dict) -> None:
        size = state["reward"].shape[0]
        for key in ("obs", "next_obs", "action", "reward", "discount"):
            getattr(self, key)[:size] = state[key].to(self.device)
        self.size = size
        self.pos = int(state["pos"])


class SumTree:
    """A binary tree whose leaves hold priorities and inner nodes their sums, as one tensor.

    Batched updates and prefix-sum searches walk the tree level by level, so both cost
    O(log capacity) tensor operations for a whole batch.
    """

    def __init__(self, capacity: int, device: torch.device) -> None:
        self.leaves = 1 << max(0, (capacity - 1).bit_length())
        self.depth = self.leaves.bit_length() - 1
        self.nodes = torch.zeros(2 * self.leaves, dtype=torch.float64, device=device)

    @property
    def total(self) -> Tensor:
        return self.nodes[1]

    def update(self, index: Tensor, priority: Tensor) -> None:
        node = index + self.leaves
        self.nodes[node] = priority.to(torch.float64)
        for _ in range(self.depth):
            node = node // 2
            self.nodes[node] = self.nodes[2 * node] + self.nodes[2 * node + 1]

    def find(self, prefix: Tensor) -> Tensor:
        """The leaf index where the running sum of priorities first exceeds each `prefix`."""
        node = torch.ones_like(prefix, dtype=torch.long)
        for _ in range(self.depth):
            left = self.nodes[2 * node]
            go_right = prefix >= left
            prefix = torch.where(go_right, prefix - left, prefix)
            node = 2 * node + go_right.long()
        return node - self.leaves

    def get(self, index: Tensor) -> Tensor:
        return self.nodes[index + self.leaves]


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al., 2016, section 3.3).

    P(i) = p_i^alpha / sum_k p_k^alpha; each sample carries the importance weight
    (N * P(i))^-beta, normalised by the largest weight in the batch.
    """

    def __init__(self, *args, alpha: float, eps: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.alpha = alpha
        self.eps = eps
        self.tree = SumTree(self.capacity, self.device)
        # a device tensor, so that updating it never waits for the device
        self.max_priority = torch.ones((), dtype=torch.float64, device=self.device)

    def add(self, t: Transitions) -> Tensor | slice:
        index = super().add(t)
        if isinstance(index, slice):
            index = torch.arange(index.start, index.stop, device=self.device)
        self.tree.update(index, self.max_priority.expand(index.shape))
        return index

    def sample(self, batch_size: int, generator: torch.Generator, beta: float = 0.4) -> Batch:
        # Stratified: one draw from each of batch_size equal slices of the total mass.
        u = torch.rand(batch_size, generator=generator, device=self.device, dtype=torch.float64)
        total = self.tree.total
        prefix = (torch.arange(batch_size, device=self.device) + u) * (total / batch_size)
        index = self.tree.find(prefix).clamp_(max=self.size - 1)
        probability = self.tree.get(index) / total
        weight = (self.size * probability) ** -beta
        batch = self._gather(index)
        batch.weight = (weight / weight.max()).float()
        return batch

    def update_priorities(self, index: Tensor, td_error: Tensor) -> None:
        priority = (td_error.detach().abs().double() + self.eps) ** self.alpha
        self.tree.update(index, priority)
        self.max_priority = torch.maximum(self.max_priority, priority.max())

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["priority"] = self.tree.get(torch.arange(self.size, device=self.device))
        state["max_priority"] = self.max_priority
        return state

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tree.update(torch.arange(self.size, device=self.device), state["priority"])
        self.max_priority = torch.as_tensor(
            state["max_priority"], dtype=torch.float64, device=self.device
        )
