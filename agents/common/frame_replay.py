"""Replay for frame-stack observations that stores each frame once.

An observation is a stack of the last S frames, so consecutive observations share S - 1 of them,
and a replay of (obs, next_obs) pairs keeps every frame 2S times (56 KB per Atari transition).
As in Dopamine's circular replay buffer (Castro et al., 2018), itself after the replay memory of
the DQN paper (Mnih et al., 2015, Methods), which held frames rather than stacks, each frame is
written once and stacks are rebuilt from row indices when a batch is sampled.

Layout: every copy of the vector env writes a stream of rows to its own ring of `rows` rows, each
row one frame, and has its own cursor, since the copies write different numbers of rows in a
step; the rings lie one after the other in one tensor (flat index `copy * rows + row`), so that
the frames of a stack are neighbours in memory:

    kind     its frame                      written
    PREFIX   an older frame of a stack      before a step whose stack does not continue the
                                            copy's last rows: the first step, after the env
                                            reset, after a resume on a freshly reset env
    STEP     the newest frame of obs_t      every step, with a_t, r_t, terminated_t, done_t:
             (transition t starts here)     the row a sample is drawn from
    FINAL    the newest frame of the        where the episode ended and the env reset it (same-
             true final observation         step autoreset), so a truncation can bootstrap

The stack of the observation at row r is rows r-S+1..r. Where the stream goes on (no episode
end, or a lost life under episodic life: the game continues), the next STEP row holds the next
observation's newest frame and nothing else is written. The padding at episode starts is
whatever the env's own stack holds (ale-py: zero frames), because those frames are the PREFIX
rows; Dopamine likewise writes S - 1 zero frames at each episode start.

The n-step return (Sutton, 1988; as in Rainbow, Hessel et al., 2018) of row r is folded at
sample time from rows r..r+n-1, cut at the first `done`; after m steps it bootstraps with
gamma^m from the stack ending at row r+m, unless the m-th step terminated:

    target = sum_k<m gamma^k r_k + discount * V(next_obs),  discount = gamma^m (1 - terminated)

A row becomes sampleable (`valid`) when the row that ends its window is written and every row
of the window lies in one stream, and stops being sampleable when the cursor comes within S - 1
rows of it (the oldest rows of its stack are about to be overwritten): no sample's stack or
window crosses the write cursor.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlbox.agents.common.replay import Batch, SumTree
from rlbox.envs.base import Step
from rlbox.errors import ConfigError, RlboxError

EMPTY, PREFIX, STEP, FINAL = 0, 1, 2, 3  # row kinds
ROW_FIELDS = ("frames", "kind", "action", "reward", "terminated", "done", "valid")


def same(a: Tensor, b: Tensor) -> Tensor:
    """Whether `a[i]` and `b[i]` are equal, for each i. Frames are compared 8 bytes at a time
    where their size allows: 3x faster than byte by byte on CPU (70 vs 230 us, 8 Atari stacks),
    and `add` compares 2 stacks per copy at every step."""
    a, b = a.flatten(1), b.flatten(1)
    if _in_words(a) and _in_words(b):
        a, b = a.view(torch.int64), b.view(torch.int64)
    return (a == b).all(1)


def _in_words(x: Tensor) -> bool:
    """Whether the rows of a 2-d byte tensor can be read as 8-byte words."""
    aligned = x.shape[1] % 8 == 0 and x.stride(0) % 8 == 0 and x.storage_offset() % 8 == 0
    return x.element_size() == 1 and x.stride(1) == 1 and aligned


class FrameReplayBuffer:
    """Frame-once replay of `capacity` rows over `num_envs` env copies, sampled uniformly.

    `obs_shape` is (S, H, W), oldest frame first. A row per step, plus S rows per reset (the
    final frame and the new stack's older frames), so it holds about `capacity` transitions
    (Pong: 99.6%). Everything stays on `device`; on CUDA, `add` and `sample` wait for the device
    a few times (boolean selections, redraws), as Atari's envs already do for every step.
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: torch.dtype,
        device: torch.device,
        *,
        n_step: int,
        gamma: float,
    ) -> None:
        self.stack = obs_shape[0]
        self.rows = capacity // num_envs
        least = 2 * (self.stack + n_step)  # a stack, a window and a step's writes, with margin
        if self.rows < least:
            raise ConfigError(
                f"invalid value for 'buffer_size': {capacity} gives each of the {num_envs} env "
                f"copies {self.rows} frames; frame replay needs at least {least} per copy"
            )
        self.num_envs = num_envs
        self.n_step = n_step
        self.device = device
        size = self.rows * num_envs
        self.frames = torch.zeros((size, *obs_shape[1:]), dtype=obs_dtype, device=device)
        self.kind = torch.zeros(size, dtype=torch.uint8, device=device)
        self.action = torch.zeros(size, dtype=torch.long, device=device)
        self.reward = torch.zeros(size, dtype=torch.float32, device=device)
        self.terminated = torch.zeros(size, dtype=torch.bool, device=device)
        self.done = torch.zeros(size, dtype=torch.bool, device=device)
        self.valid = torch.zeros(size, dtype=torch.bool, device=device)
        self.cursor = torch.zeros(num_envs, dtype=torch.long, device=device)  # next row to write
        self.written = torch.zeros(num_envs, dtype=torch.long, device=device)  # rows ever written
        self._seen_a_step = False

        self._copies = torch.arange(num_envs, device=device)
        self._powers = gamma ** torch.arange(n_step + 1, dtype=torch.float32, device=device)
        self._window = torch.arange(n_step, device=device)
        self._stack = torch.arange(self.stack, device=device)
        self._older = torch.arange(1 - self.stack, 0, device=device)  # rows before the newest
        self._span = torch.arange(1 - self.stack, n_step + 1, device=device)
        # what one step may write per copy, in order: S - 1 older frames, its own, a final one
        self._kinds = torch.tensor(
            [PREFIX] * (self.stack - 1) + [STEP, FINAL], dtype=torch.uint8, device=device
        )

    def __len__(self) -> int:
        """The number of transitions that can be sampled now."""
        return int(self.valid.sum())

    def _flat(self, row: Tensor, copy: Tensor) -> Tensor:
        return copy * self.rows + row % self.rows

    def _per_copy(self, values: Tensor) -> Tensor:
        return values.view(self.num_envs, self.rows, *values.shape[1:])

    def add(self, obs: Tensor, action: Tensor, step: Step) -> None:
        """Store one vector step: `obs` [N, S, ...] was acted on with `action`, led to `step`."""
        if not self._seen_a_step:
            self._check_frame_stack(obs, step)
        s, copies = self.stack, self._copies[:, None]
        older = obs[:, :-1]
        last = self._flat(self.cursor[:, None] + self._older, copies)
        kept = self.frames.index_select(0, last.flatten()).view_as(older)
        new = ~(same(kept, older) & (self.kind[last] != EMPTY).all(1))
        # Where the env reset, `obs` starts a new game and the final frame is written on its own.
        reset = step.done & ~same(step.obs, step.final_obs)
        write = torch.cat((new[:, None].expand(-1, s - 1), torch.ones_like(new[:, None]),
                           reset[:, None]), dim=1)  # fmt: skip
        row = self.cursor[:, None] + write.long().cumsum(1) - 1
        slot = self._flat(row, copies)
        at = slot[:, s - 1]
        self.frames[slot[new, : s - 1].flatten()] = older[new].flatten(0, 1)
        self.frames[at] = obs[:, -1]
        self.frames[slot[reset, s]] = step.final_obs[reset, -1]
        self.kind[slot[write]] = self._kinds.expand_as(write)[write]
        self.action[at] = action
        self.reward[at] = step.reward.float()
        self.terminated[at] = step.terminated
        self.done[at] = step.done
        count = write.sum(1)
        self.cursor = (self.cursor + count) % self.rows
        self.written += count

        ahead = self._flat(self.cursor[:, None] + torch.arange(s - 1, device=self.device), copies)
        self._mark(torch.cat((slot[write], ahead.flatten())), False)
        self._mark(self._completed(row[:, s - 1 :], write[:, s - 1 :]), True)

    def _check_frame_stack(self, obs: Tensor, step: Step) -> None:
        """A one-line error where observations are not frame stacks, whose next observation is
        this one shifted by a frame: rows would never form a complete window, and nothing could
        be sampled. One step shows it."""
        if not same(step.final_obs[:, :-1], obs[:, 1:]).all():
            raise RlboxError(
                f"frame replay stores observations of shape {tuple(obs.shape[1:])} as stacks of "
                f"{self.stack} frames, oldest first, but the next observation is not this one "
                "shifted by a frame"
            )
        self._seen_a_step = True

    def _completed(self, end: Tensor, written: Tensor) -> Tensor:
        """The rows whose n-step window the rows `end` [N, 2] just completed (this step's STEP
        and FINAL rows, where `written`): the stack a window's last step led to ends there."""
        start = self._flat(end[..., None] - self.n_step + self._window, self._copies[:, None, None])
        steps = self.kind[start] == STEP
        done = self.done[start]
        # start i (of n) completes at `end` when rows i..n-1 are steps of one stream, none but
        # the last ended its episode, and the last did end it, or the window is n steps long.
        in_stream = steps.flip(-1).cumprod(-1).flip(-1).bool()
        open_ = torch.ones_like(done)
        open_[..., :-1] = (~done[..., :-1]).flip(-1).cumprod(-1).flip(-1).bool()
        full = self._window == 0
        complete = in_stream & open_ & (done[..., -1:] | full) & written[..., None]
        return start[complete]

    def _mark(self, index: Tensor, valid: bool) -> None:
        self.valid[index] = valid

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        """Uniform over the sampleable transitions: draws that land on another row (an episode
        boundary's, one next to the cursor, one whose window is still open: 1 in 200 rows of a
        full buffer of Pong) are drawn again."""
        filled = self._filled()
        index = self._draw(batch_size, filled, generator)
        ok = self.valid[index]
        while not ok.all():
            if not (ok.any() or self.valid.any()):
                raise ValueError("no transition can be sampled yet")
            redraw = ~ok
            index[redraw] = self._draw(int(redraw.sum()), filled, generator)
            ok = self.valid[index]
        return self._gather(index)

    def _draw(self, count: int, filled: int, generator: torch.Generator) -> Tensor:
        """Uniform flat indices of the first `filled` rows of every copy."""
        drawn = torch.randint(
            self.num_envs * filled, (count,), generator=generator, device=self.device
        )
        return drawn + drawn // filled * (self.rows - filled)  # copy * rows + row

    def _filled(self) -> int:
        """How many leading rows of the rings have been written (the most of any copy)."""
        return max(1, min(self.rows, int(self.written.max())))

    def _gather(self, index: Tensor) -> Batch:
        s, n = self.stack, self.n_step
        row = index % self.rows
        # rows r-S+1..r+n of the copy: the stack of obs, then the window's rows r..r+n-1 and r+n
        span = (index - row)[:, None] + (row[:, None] + self._span) % self.rows
        window = span[:, s - 1 : s - 1 + n]
        done = self.done[window]
        alive = done.cumsum(1) == done  # no episode end before step k: step k counts
        taken = alive.sum(1)  # m: the steps the window took (1..n)
        n_return = (self.reward[window] * self._powers[:n] * alive).sum(1)
        # an episode can only terminate at the window's last step
        ended = (self.terminated[window] & alive).any(1)
        discount = self._powers[taken].masked_fill(ended, 0.0)
        next_rows = span.gather(1, taken[:, None] + self._stack)
        rows = torch.cat((span[:, :s], next_rows)).flatten()
        stacks = self.frames.index_select(0, rows).view(2, len(index), s, *self.frames.shape[1:])
        return Batch(
            obs=stacks[0],
            action=self.action[index],
            reward=n_return,
            next_obs=stacks[1],
            discount=discount,
            index=index,
        )

    def state_dict(self) -> dict[str, Tensor]:
        """The rows written so far, the cursors and which rows can be sampled: tensors only."""
        filled = self._filled()
        state = {key: self._per_copy(getattr(self, key))[:, :filled] for key in ROW_FIELDS}
        state["cursor"] = self.cursor
        state["written"] = self.written
        return state

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        filled = state["kind"].shape[1]
        for key in ROW_FIELDS:
            rings = self._per_copy(getattr(self, key))
            rings[:, :filled] = state[key].to(self.device)
            rings[:, filled:] = 0
        self.cursor = state["cursor"].to(self.device)
        self.written = state["written"].to(self.device)


class PrioritizedFrameReplayBuffer(FrameReplayBuffer):
    """Proportional prioritized replay (Schaul et al., 2016, section 3.3) on frame-once rows.

    A row's leaf in the sum tree holds p^alpha while the row can be sampled and 0 otherwise, so
    the tree never yields a row whose stack or window crosses the cursor; new transitions enter
    with the largest priority seen, when their window completes.
    """

    def __init__(
        self,
        capacity: int,
        num_envs: int,
        obs_shape: tuple[int, ...],
        obs_dtype: torch.dtype,
        device: torch.device,
        *,
        n_step: int,
        gamma: float,
        alpha: float,
        eps: float,
    ) -> None:
        super().__init__(
            capacity, num_envs, obs_shape, obs_dtype, device, n_step=n_step, gamma=gamma
        )
        self.alpha = alpha
        self.eps = eps
        self.tree = SumTree(self.valid.numel(), device)
        # a device tensor, so that updating it never waits for the device
        self.max_priority = torch.ones((), dtype=torch.float64, device=device)

    def _mark(self, index: Tensor, valid: bool) -> None:
        super()._mark(index, valid)
        priority = self.max_priority if valid else torch.zeros_like(self.max_priority)
        self.tree.update(index, priority.expand(index.shape))

    def sample(self, batch_size: int, generator: torch.Generator, beta: float = 0.4) -> Batch:
        """Stratified: one draw from each of `batch_size` equal slices of the priority mass, with
        importance weights (N P(i))^-beta normalised by the batch's largest."""
        if not self.valid.any():
            raise ValueError("no transition can be sampled yet")
        u = torch.rand(batch_size, generator=generator, device=self.device, dtype=torch.float64)
        total = self.tree.total
        prefix = (torch.arange(batch_size, device=self.device) + u) * (total / batch_size)
        index = self.tree.find(prefix).clamp_(max=self.valid.numel() - 1)
        probability = self.tree.get(index) / total
        batch = self._gather(index)
        # N cancels in the normalisation: w_i / max_j w_j = (P_i / min_j P_j)^-beta
        batch.weight = ((probability / probability.min()) ** -beta).float()
        return batch

    def update_priorities(self, index: Tensor, td_error: Tensor) -> None:
        priority = (td_error.detach().abs().double() + self.eps) ** self.alpha
        # a row overwritten since it was sampled must not come back with the old priority
        priority = priority * self.valid[index]
        self.tree.update(index, priority)
        self.max_priority = torch.maximum(self.max_priority, priority.max())

    def state_dict(self) -> dict[str, Tensor]:
        state = super().state_dict()
        leaves = self.tree.get(torch.arange(self.valid.numel(), device=self.device))
        state["priority"] = self._per_copy(leaves)[:, : self._filled()]
        state["max_priority"] = self.max_priority
        return state

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        super().load_state_dict(state)
        priority = torch.zeros(self.valid.numel(), dtype=torch.float64, device=self.device)
        saved = state["priority"].to(self.device)
        self._per_copy(priority)[:, : saved.shape[1]] = saved
        self.tree.update(torch.arange(priority.shape[0], device=self.device), priority)
        self.max_priority = state["max_priority"].to(self.device, torch.float64)
