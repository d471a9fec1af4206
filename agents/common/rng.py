"""Random generators that an agent owns, so that two agents in one process never share a stream
and a resume, on the host or on an accelerator, continues each stream where it stopped.

Nothing here touches torch's global generators: networks are initialised inside
`seeded_init`, which forks the global CPU state and restores it afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch


class Generators:
    """A CPU generator and one on the agent's device (the same object on the CPU).

    `device` draws everything sampled in the hot loop (actions, minibatches, replay indices,
    noise) where the tensors live; `cpu` is for draws that start on the host.
    """

    def __init__(self, seed: int, device: torch.device) -> None:
        self.cpu = torch.Generator().manual_seed(seed)
        if device.type == "cpu":
            self.device = self.cpu
        else:
            self.device = torch.Generator(device).manual_seed(seed)

    def state_dict(self) -> dict[str, Any]:
        state = {"cpu": self.cpu.get_state()}
        if self.device is not self.cpu:
            state["device"] = self.device.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.cpu.set_state(state["cpu"].cpu())
        if self.device is not self.cpu:
            self.device.set_state(state["device"].cpu())


@contextlib.contextmanager
def seeded_init(seed: int) -> Iterator[None]:
    """Run module construction (whose initialisers draw from the global CPU generator) from
    `seed`, leaving the global generator as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
