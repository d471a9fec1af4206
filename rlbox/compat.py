"""Import workarounds shared by rlbox's own logger and the baselines' adapters."""

from __future__ import annotations

import sys
from types import ModuleType


def tensorboard_without_tensorflow() -> None:
    """Make TensorBoard (and so SB3, which imports it) use the TensorFlow stub it ships.

    Where TensorFlow is installed (the tfagents extra), TensorBoard imports it for its file I/O:
    seconds per process, and Keras 3 chosen before TF-Agents can ask for Keras 2. TensorBoard's
    `notf` marker module selects the stub instead, unless a tfa-* agent has imported TensorFlow
    already (rlbox.agents.tfagents.env then hands TensorBoard the real one).
    """
    if "tensorflow" not in sys.modules:
        sys.modules.setdefault("tensorboard.compat.notf", ModuleType("notf"))
