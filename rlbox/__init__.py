"""rlbox: a reinforcement-learning sandbox and agent library on PyTorch.

    import rlbox
    result = rlbox.train("dqn", "CartPole-v1", steps=50_000, seed=0)
    print(result.eval_return_mean, result.run_dir)
    policy = rlbox.load(result.run_dir)          # checkpoint="best"
    action = policy.predict(obs)                 # a Gymnasium observation -> an env action

Submodules are imported on first use, so `import rlbox` stays fast.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# TF-Agents (the tfa-* agents) needs TensorFlow's Keras 2, chosen when TensorFlow is imported;
# TensorBoard and SB3 may import TensorFlow first, where it is installed. Setting this imports
# nothing.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

__version__ = "0.1.0"
__all__ = ["evaluate_run", "load", "resume", "train"]

if TYPE_CHECKING:
    from rlbox.run.policy import load
    from rlbox.run.runner import evaluate_run, resume, train


def __getattr__(name: str) -> Any:
    if name == "load":
        from rlbox.run.policy import load

        return load
    if name in __all__:
        from rlbox.run import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'rlbox' has no attribute {name!r}")
