import os

import pytest
import torch

# As `import rlbox` does: test modules may import SB3 (and with it TensorBoard and TensorFlow)
# before rlbox, and TF-Agents needs TensorFlow's Keras 2, chosen at TensorFlow's import.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")


@pytest.fixture(autouse=True)
def _one_thread():
    # Tests measure behaviour, not speed; one thread keeps them deterministic and cheap on CI.
    torch.set_num_threads(1)
