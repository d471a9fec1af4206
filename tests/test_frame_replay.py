"""The frame-once replay (agents/common/frame_replay.py) against what the env produced.

`NumberedFrames` writes its frame number into every frame, so each acted-on observation is
known by its newest frame; every sampleable transition is checked (stacks, n-step return,
discount, action) against the env's own record, across episode starts and ends of every kind
and across the write cursor's wraps. A real Breakout run checks the same on ale-py's frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from rlbox.agents.common.frame_replay import FrameReplayBuffer, PrioritizedFrameReplayBuffer
from rlbox.envs.base import Step

STACK, GAMMA = 4, 0.9
CPU = torch.device("cpu")


@dataclass
class Record:
    """One transition as the env produced it."""

    obs: torch.Tensor
    action: int
    reward: float
    terminated: bool
    done: bool
    final_obs: torch.Tensor
    next_obs: torch.Tensor  # what the agent acts on next: not `final_obs` where the env reset

    @property
    def reset(self) -> bool:
        return self.done and not torch.equal(self.final_obs, self.next_obs)


class NumberedFrames:
    """A frame-stack env of 2x2 frames [number % 256, number // 256, copy + 1, 9].

    Copy c's episodes last 1 to 7 steps and end, in turn, terminated (reset), truncated (reset),
    with a lost life (terminated, the stream goes on as with episodic life), and terminated and
    truncated at once. At a reset the stack is padded like ale-py's (zeros) or with the first
    frame repeated (`padding="repeat"`). `records[c]` lists the copy's transitions in order.
    """

    autoreset_mode = AutoresetMode.SAME_STEP
    env_id = "test/NumberedFrames-v0"
    single_observation_space = spaces.Box(0, 255, (STACK, 2, 2), np.uint8)
    single_action_space = spaces.Discrete(3)

    def __init__(self, num_envs: int, padding: str = "zeros") -> None:
        self.num_envs = num_envs
        self.device = CPU
        self.padding = padding
        self.frame_number = 0
        self.episodes = [0] * num_envs
        self.lengths = [0] * num_envs
        self.records: list[list[Record]] = [[] for _ in range(num_envs)]
        self.stacks = torch.zeros((num_envs, STACK, 2, 2), dtype=torch.uint8)

    def _frame(self, copy: int) -> torch.Tensor:
        self.frame_number += 1
        n = self.frame_number
        return torch.tensor([[n % 256, n // 256], [copy + 1, 9]], dtype=torch.uint8)

    def _start(self, copy: int) -> None:
        frame = self._frame(copy)
        pad = frame if self.padding == "repeat" else torch.zeros_like(frame)
        self.stacks[copy] = torch.stack([pad] * (STACK - 1) + [frame])
        self.lengths[copy] = 0

    def reset(self, seed: int | None = None) -> torch.Tensor:
        for copy in range(self.num_envs):
            self._start(copy)
        return self.stacks.clone()

    def step(self, actions: torch.Tensor) -> Step:
        n = self.num_envs
        obs, final_obs = self.stacks.clone(), torch.zeros_like(self.stacks)
        reward = torch.zeros(n)
        terminated = torch.zeros(n, dtype=torch.bool)
        truncated = torch.zeros(n, dtype=torch.bool)
        ended = []
        for c in range(n):
            self.lengths[c] += 1
            self.stacks[c] = torch.cat((self.stacks[c, 1:], self._frame(c)[None]))
            final_obs[c] = self.stacks[c]
            reward[c] = float(self.frame_number % 7) - 3.0
            episode = self.episodes[c]
            if self.lengths[c] == 1 + (3 * episode + c) % 7:
                kind = (episode + c) % 4
                terminated[c] = kind in (0, 2, 3)
                truncated[c] = kind in (1, 3)
                self.episodes[c] += 1
                if kind == 2:
                    self.lengths[c] = 0  # a lost life: the next observation continues the game
                else:
                    self._start(c)
            ended.append(bool(terminated[c] | truncated[c]))
        for c in range(n):
            self.records[c].append(Record(obs[c], int(actions[c]), float(reward[c]),
                                          bool(terminated[c]), ended[c], final_obs[c],
                                          self.stacks[c].clone()))  # fmt: skip
        return Step(
            obs=self.stacks.clone(), reward=reward, terminated=terminated, truncated=truncated,
            done=terminated | truncated, final_obs=final_obs,
            episode_return=torch.zeros(n), episode_length=torch.zeros(n, dtype=torch.long),
        )  # fmt: skip

    def close(self) -> None:
        pass


def expected(records: list[Record], t: int, n: int) -> tuple[float, float, torch.Tensor] | None:
    """(n-step return, discount, next obs) of transition t; None while the frame its window
    ends on is unwritten: it comes with the next step, unless the env reset (a final frame)."""
    total = 0.0
    for k in range(n):
        if t + k >= len(records):
            return None
        step = records[t + k]
        total += GAMMA**k * step.reward
        if step.done or k == n - 1:
            if t + k == len(records) - 1 and not step.reset:
                return None
            discount = 0.0 if step.terminated else GAMMA ** (k + 1)
            return total, discount, step.final_obs
    raise AssertionError("unreachable")


def run(env, buffer: FrameReplayBuffer, steps: int, check_every: int = 0, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    obs = env.reset(seed=seed)
    for i in range(1, steps + 1):
        action = torch.randint(3, (env.num_envs,), generator=gen)
        step = env.step(action)
        buffer.add(obs, action, step)
        obs = step.obs
        if check_every and i % check_every == 0:
            check_every_sampleable(env, buffer)


def by_newest_frame(env: NumberedFrames) -> dict[tuple[int, ...], tuple[int, int]]:
    return {
        tuple(r.obs[-1].flatten().tolist()): (c, t)
        for c, records in enumerate(env.records)
        for t, r in enumerate(records)
    }


def check_every_sampleable(env: NumberedFrames, buffer: FrameReplayBuffer) -> set:
    """Every transition the buffer may sample equals the env's; the newest transitions whose
    window is complete are all sampleable. Returns the (copy, t) of the sampleable ones."""
    index = buffer.valid.nonzero().squeeze(1)
    batch = buffer._gather(index)
    known = by_newest_frame(env)
    seen = set()
    for i in range(len(index)):
        c, t = known[tuple(batch.obs[i, -1].flatten().tolist())]
        record = env.records[c][t]
        n_return, discount, next_obs = expected(env.records[c], t, buffer.n_step)
        assert torch.equal(batch.obs[i], record.obs), (c, t)
        assert torch.equal(batch.next_obs[i], next_obs), (c, t)
        assert int(batch.action[i]) == record.action
        assert batch.reward[i].item() == pytest.approx(n_return, abs=1e-5)
        assert batch.discount[i].item() == pytest.approx(discount, abs=1e-6)
        seen.add((c, t))
    # A step writes at most S + 1 rows and the S - 1 rows ahead of the cursor are left out, so
    # the stacks of the last (rows - 2 (S - 1)) // (S + 1) steps are whole.
    recent = (buffer.rows - 2 * (STACK - 1)) // (STACK + 1)
    for c, records in enumerate(env.records):
        for t in range(max(0, len(records) - recent), len(records)):
            complete = expected(records, t, buffer.n_step) is not None
            assert ((c, t) in seen) == complete, (c, t)
    return seen


@pytest.mark.parametrize("n_step", [1, 3])
@pytest.mark.parametrize("padding", ["zeros", "repeat"])
def test_every_sampleable_transition_is_what_the_env_produced_across_wraps(n_step, padding):
    env = NumberedFrames(3, padding)
    buffer = FrameReplayBuffer(3 * 40, 3, (STACK, 2, 2), torch.uint8, CPU, n_step=n_step,
                               gamma=GAMMA)  # fmt: skip
    run(env, buffer, 200, check_every=7)  # the 40-row rings wrap about 8 times
    assert (buffer.written > 6 * buffer.rows).all()


def test_before_a_wrap_every_complete_transition_is_sampleable():
    env = NumberedFrames(2)
    buffer = FrameReplayBuffer(2 * 1000, 2, (STACK, 2, 2), torch.uint8, CPU, n_step=3, gamma=GAMMA)
    run(env, buffer, 60)
    seen = check_every_sampleable(env, buffer)
    complete = {(c, t) for c in range(2) for t in range(60) if expected(env.records[c], t, 3)}
    assert seen == complete and len(buffer) == len(complete)
    # A row per step, a final frame per reset, and S - 1 older frames before the first step and
    # after each reset but the last step's (they come with the next step).
    for c, records in enumerate(env.records):
        resets = sum(r.reset for r in records)
        starts = 1 + resets - records[-1].reset
        assert int(buffer.written[c]) == 60 + resets + (STACK - 1) * starts


def test_sample_draws_only_sampleable_rows_uniformly():
    env = NumberedFrames(2)
    buffer = FrameReplayBuffer(2 * 40, 2, (STACK, 2, 2), torch.uint8, CPU, n_step=3, gamma=GAMMA)
    run(env, buffer, 100)
    gen = torch.Generator().manual_seed(1)
    counts = torch.zeros(buffer.valid.numel())
    for _ in range(300):
        batch = buffer.sample(64, gen)
        assert buffer.valid[batch.index].all() and batch.weight is None
        counts += torch.bincount(batch.index, minlength=counts.numel())
    share = counts[buffer.valid] / counts.sum()
    assert share.min() > 0.4 / len(buffer) and share.max() < 1.6 / len(buffer)


def test_observations_that_are_not_frame_stacks_are_refused_at_the_first_step():
    from rlbox.errors import RlboxError

    buffer = FrameReplayBuffer(64, 2, (3, 2, 2), torch.uint8, CPU, n_step=1, gamma=GAMMA)
    frames = torch.randint(0, 255, (3, 2, 3, 2, 2), dtype=torch.uint8)  # e.g. RGB [C, H, W]
    no = torch.zeros(2, dtype=torch.bool)
    step = Step(obs=frames[1], reward=torch.zeros(2), terminated=no, truncated=no, done=no,
                final_obs=frames[1], episode_return=torch.zeros(2),
                episode_length=torch.zeros(2, dtype=torch.long))  # fmt: skip
    with pytest.raises(RlboxError, match="not this one shifted by a frame"):
        buffer.add(frames[0], torch.zeros(2, dtype=torch.long), step)


def test_empty_buffer_refuses_to_sample():
    buffer = FrameReplayBuffer(64, 2, (STACK, 2, 2), torch.uint8, CPU, n_step=3, gamma=GAMMA)
    with pytest.raises(ValueError, match="no transition"):
        buffer.sample(4, torch.Generator())


def test_state_dict_round_trip_resumes_exactly():
    env = NumberedFrames(2)
    buffer = PrioritizedFrameReplayBuffer(2 * 30, 2, (STACK, 2, 2), torch.uint8, CPU, n_step=3,
                                          gamma=GAMMA, alpha=0.6, eps=1e-6)  # fmt: skip
    run(env, buffer, 45)
    buffer.update_priorities(buffer.valid.nonzero().squeeze(1)[:5], torch.arange(5.0))
    state = buffer.state_dict()
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    restored = PrioritizedFrameReplayBuffer(2 * 30, 2, (STACK, 2, 2), torch.uint8, CPU, n_step=3,
                                            gamma=GAMMA, alpha=0.6, eps=1e-6)  # fmt: skip
    restored.load_state_dict(state)
    for key in ("frames", "kind", "action", "reward", "terminated", "done", "valid", "cursor"):
        assert torch.equal(getattr(restored, key), getattr(buffer, key)), key
    assert torch.equal(restored.tree.nodes, buffer.tree.nodes)
    assert torch.equal(restored.max_priority, buffer.max_priority)
    # The same steps after the restore leave both buffers identical, past a wrap.
    obs = env.stacks.clone()
    gen = torch.Generator().manual_seed(5)
    for _ in range(20):
        action = torch.randint(3, (2,), generator=gen)
        step = env.step(action)
        buffer.add(obs, action, step)
        restored.add(obs, action, step)
        obs = step.obs
    a, b = (
        buffer.sample(16, torch.Generator().manual_seed(2), beta=0.5),
        restored.sample(16, torch.Generator().manual_seed(2), beta=0.5),
    )
    assert torch.equal(a.index, b.index) and torch.equal(a.next_obs, b.next_obs)
    assert torch.equal(a.weight, b.weight)


def test_prioritized_sampling_follows_priorities_and_only_sampleable_rows_have_mass():
    env = NumberedFrames(2)
    buffer = PrioritizedFrameReplayBuffer(2 * 30, 2, (STACK, 2, 2), torch.uint8, CPU, n_step=3,
                                          gamma=GAMMA, alpha=1.0, eps=0.0)  # fmt: skip
    run(env, buffer, 100, check_every=10)
    leaves = buffer.tree.get(torch.arange(buffer.valid.numel()))
    assert torch.equal(leaves > 0, buffer.valid)  # overwritten and open rows have no mass
    valid = buffer.valid.nonzero().squeeze(1)
    favourite = valid[len(valid) // 2]
    buffer.update_priorities(valid, torch.where(valid == favourite, 9.0, 1.0).double())
    gen = torch.Generator().manual_seed(0)
    hits = total = 0
    for _ in range(200):
        batch = buffer.sample(32, gen, beta=1.0)
        assert buffer.valid[batch.index].all()
        hits += int((batch.index == favourite).sum())
        total += 32
    assert abs(hits / total - 9 / (len(valid) + 8)) < 0.03
    # With beta = 1 the weights undo the skew: w ∝ 1 / P(i), normalised by the batch's largest.
    batch = buffer.sample(32, gen, beta=1.0)
    if (batch.index == favourite).any():
        expected_weight = torch.where(batch.index == favourite, 1 / 9, 1.0).float()
        assert torch.allclose(batch.weight, expected_weight)
    # Rows overwritten after they were sampled do not come back with their old priority.
    stale = valid[:4]
    run(env, buffer, 30)
    buffer.update_priorities(stale, torch.ones(4))
    assert torch.equal(buffer.tree.get(stale) > 0, buffer.valid[stale])


def test_breakout_frames_rebuilt_from_the_replay_equal_the_envs():
    pytest.importorskip("ale_py")
    import rlbox.envs

    env = rlbox.envs.make("ALE/Breakout-v5", num_envs=2, seed=0, max_episode_frames=240)
    buffer = FrameReplayBuffer(2 * 150, 2, (4, 84, 84), torch.uint8, CPU, n_step=3, gamma=GAMMA)
    weights = torch.randint(1, 2**20, (4, 84, 84), generator=torch.Generator().manual_seed(0))

    def key(stack: torch.Tensor) -> int:
        return int((stack.long() * weights).sum())

    records: dict[int, list[tuple[Record, tuple[float, float, torch.Tensor] | None]]] = {}
    history: list[list[Record]] = [[], []]
    obs = env.reset(seed=0)
    gen = torch.Generator().manual_seed(0)
    for _ in range(300):  # about 5 truncated games and a dozen lost lives per copy; 2 wraps
        action = torch.randint(4, (2,), generator=gen)
        step = env.step(action)
        buffer.add(obs, action, step)
        for c in range(2):
            history[c].append(Record(obs[c], int(action[c]), float(step.reward[c]),
                                     bool(step.terminated[c]), bool(step.done[c]),
                                     step.final_obs[c], step.obs[c]))  # fmt: skip
        obs = step.obs
    ends = sum(r.done for h in history for r in h)
    assert ends >= 10 and any(r.done and not r.terminated for h in history for r in h)
    for h in history:
        for t, r in enumerate(h):
            records.setdefault(key(r.obs), []).append((r, expected(h, t, 3)))
    index = buffer.valid.nonzero().squeeze(1)
    assert len(index) > 200 and (buffer.written > buffer.rows).all()
    batch = buffer._gather(index)
    # some sampleable stacks start a game: ale-py pads them with zero frames, and so does the replay
    assert (batch.obs.flatten(2).amax(2) == 0).any()

    def produced(i: int, r: Record, e: tuple[float, float, torch.Tensor] | None) -> bool:
        return (e is not None and r.action == int(batch.action[i])
                and torch.equal(r.obs, batch.obs[i]) and torch.equal(e[2], batch.next_obs[i])
                and abs(e[0] - float(batch.reward[i])) < 1e-5
                and abs(e[1] - float(batch.discount[i])) < 1e-6)  # fmt: skip

    found = []
    for i in range(len(index)):
        found += [r for r, e in records[key(batch.obs[i])] if produced(i, r, e)][:1]
        assert len(found) == i + 1, i
    # among them the last steps of truncated games (bootstrapping from the final frame) and of
    # lost lives (the stream goes on)
    assert any(r.done and not r.terminated for r in found)
    assert any(r.terminated and not r.reset for r in found)
    env.close()


@pytest.mark.parametrize("prioritized", [False, True])
def test_dqn_replays_frame_stacks_from_the_frame_once_buffer(prioritized):
    from rlbox.agents.dqn import DQN, DQNConfig
    from rlbox.nn.backbone import BackboneSpec

    config = DQNConfig(buffer_size=2 * 40, learning_starts=16, batch_size=8, n_step=3, gamma=GAMMA,
                       prioritized=prioritized)  # fmt: skip
    small = BackboneSpec("mlp", {"hidden_sizes": (8,), "activation": "tanh"})
    agent = DQN(NumberedFrames(2), config, device=CPU, seed=0, horizon=200, backbone=small)
    agent.learn(120)  # past a wrap of the 40-row rings
    kind = PrioritizedFrameReplayBuffer if prioritized else FrameReplayBuffer
    assert type(agent.buffer) is kind and agent.n_step is None and agent.gradient_steps > 0
    check_every_sampleable(agent.env, agent.buffer)
    twin = DQN(NumberedFrames(2), config, device=CPU, seed=1, horizon=200, backbone=small)
    twin.load_state_dict(agent.state_dict())
    for key, value in agent.buffer.state_dict().items():
        assert torch.equal(twin.buffer.state_dict()[key], value), key
