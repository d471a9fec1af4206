"""The batched torch env every torch-native twin builds on: N copies as one state tensor, with
the `VectorEnv` contract (same-step autoreset, `final_obs`, separate terminated and truncated).

Autoreset draws fresh initial states for all copies every step and keeps them where a copy is
done: a few random numbers cost less than asking the host which copies finished.
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.envs.base import AUTORESET_MODE, Step
from rlbox.errors import CheckpointError


class TorchVectorEnv:
    """Base: state, time limit, same-step autoreset and episode statistics for N copies.

    The state is laid out [d, N], a row per state variable, so that dynamics update each
    variable of all copies in place, in one contiguous operation.
    """

    autoreset_mode = AUTORESET_MODE
    env_id: str
    max_episode_steps: int
    state_dim: int
    single_observation_space: spaces.Space
    single_action_space: spaces.Space

    def __init__(
        self,
        num_envs: int,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float64,
        max_episode_steps: int | None = None,
    ) -> None:
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.dtype = dtype
        if max_episode_steps is not None:
            self.max_episode_steps = max_episode_steps
        self.state = torch.zeros(self.state_dim, num_envs, device=self.device, dtype=dtype)
        self.elapsed = torch.zeros(num_envs, dtype=torch.int64, device=self.device)
        self.generator = torch.Generator(self.device)
        self.returns = torch.zeros(num_envs, dtype=dtype, device=self.device)
        # Which copies finished is a free question on the host, a stall of the stream elsewhere.
        self.resets_on_host = self.device.type == "cpu"

    def reset(self, seed: int | None = None) -> Tensor:
        """Start every copy afresh; `seed` seeds the one generator all copies draw from."""
        if seed is not None:
            self.generator.manual_seed(seed)
        self.state = self.initial_state(self.num_envs)
        self.elapsed.zero_()
        self.returns.zero_()
        return self.observe()

    def step(self, actions: Tensor) -> Step:
        reward, terminated = self.dynamics(actions.to(self.device))
        self.elapsed += 1  # replaced, never changed in place, below: it is reported
        truncated = self.elapsed >= self.max_episode_steps  # as TimeLimit: even if terminated
        done = terminated | truncated
        final_obs = obs = self.observe()
        episode_return, episode_length = self.returns + reward, self.elapsed
        self.returns = episode_return.masked_fill(done, 0.0)
        self.elapsed = episode_length.masked_fill(done, 0)
        if not self.resets_on_host:
            # no question to the host: fresh states for all copies, kept where a copy is done
            self.state = torch.where(done, self.initial_state(self.num_envs), self.state)
            obs = self.observe()
        else:  # on the host the question is free and spares the draws
            finished = torch.where(done)[0]
            if len(finished):
                self.state[:, finished] = self.initial_state(len(finished))
                obs = self.observe()
        return Step(
            obs=obs,
            reward=reward.to(torch.float32, copy=True),
            terminated=terminated,
            truncated=truncated,
            done=done,
            final_obs=final_obs,
            episode_return=episode_return,
            episode_length=episode_length,
        )

    def close(self) -> None:
        pass

    def state_dict(self) -> dict[str, Tensor | int | float]:
        """Everything the next steps depend on, copied: the states, the episodes' steps and
        returns so far, and the generator that draws initial states (a CPU ByteTensor, also on
        CUDA). No subclass keeps more: their other tensors are constants or scratch memory."""
        return {
            "state": self.state.clone(),
            "elapsed": self.elapsed.clone(),
            "returns": self.returns.clone(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Tensor | int | float]) -> None:
        """Continue exactly where the env that gave `state` was (same env, copies and dtype).

        The tensors keep their saved dtypes: the running returns, for one, are promoted to the
        reward's dtype at the first step (float64 for MountainCarContinuous' float32 state)."""
        if state["state"].shape != self.state.shape:
            raise CheckpointError(
                f"{self.env_id}: saved state of shape {tuple(state['state'].shape)} does not fit "
                f"{self.num_envs} copies (shape {tuple(self.state.shape)})"
            )
        self.state = state["state"].to(self.device, copy=True)
        self.elapsed = state["elapsed"].to(self.device, copy=True)
        self.returns = state["returns"].to(self.device, copy=True)
        self.generator.set_state(state["generator"].cpu())

    def uniform(self, n: int, low: Tensor | float, high: Tensor | float) -> Tensor:
        """[d, n] uniform draws between `low` and `high` (scalars or [d, 1])."""
        if isinstance(low, float) and isinstance(high, float):
            draws = torch.empty(self.state_dim, n, device=self.device, dtype=self.dtype)
            return draws.uniform_(low, high, generator=self.generator)
        u = torch.rand(self.state_dim, n, generator=self.generator, device=self.device)
        return (low + (high - low) * u).to(self.dtype)

    # --- what each env defines ---------------------------------------------------------------

    def initial_state(self, n: int) -> Tensor:
        raise NotImplementedError

    def dynamics(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        """Advance `self.state` by one step (in place); return (reward, terminated)."""
        raise NotImplementedError

    def observe(self) -> Tensor:
        """[N, obs_dim] float32, a new tensor (never a view of the state)."""
        raise NotImplementedError
