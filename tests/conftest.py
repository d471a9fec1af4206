import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    # Tests measure behaviour, not speed; one thread keeps them deterministic and cheap on CI.
    torch.set_num_threads(1)
