"""DQN: its loss functions on hand-computed batches, and value learning on the probe envs."""

import pytest
import torch

from rlbox.agents.dqn import td_loss, td_target
from rlbox.run.build import build_agent, prepare


def test_td_target_vanilla_and_double():
    reward = torch.tensor([1.0, 0.5])
    discount = torch.tensor([0.9, 0.0])
    next_q_target = torch.tensor([[2.0, 4.0], [3.0, 1.0]])
    next_q_online = torch.tensor([[5.0, 0.0], [0.0, 5.0]])
    # vanilla: max of the target net
    assert torch.allclose(
        td_target(reward, discount, next_q_target, None), torch.tensor([4.6, 0.5])
    )
    # double: the online net picks action 0 in row 0, the target net values it at 2
    assert torch.allclose(
        td_target(reward, discount, next_q_target, next_q_online), torch.tensor([2.8, 0.5])
    )


def test_td_loss_huber_and_weights():
    q = torch.tensor([0.0, 0.0, 0.0])
    target = torch.tensor([0.5, 2.0, -3.0])
    # Huber: 0.5 x^2 inside |x| <= 1, |x| - 0.5 outside
    assert td_loss(q, target, None, "huber").item() == pytest.approx((0.125 + 1.5 + 2.5) / 3)
    weight = torch.tensor([1.0, 0.0, 0.0])
    assert td_loss(q, target, weight, "huber").item() == pytest.approx(0.125 / 3)
    assert td_loss(q, target, None, "mse").item() == pytest.approx((0.125 + 2.0 + 4.5) / 3)


PROBE_CONFIG = {
    "num_envs": 4,
    "hidden_sizes": [32],
    "lr": 3e-3,
    "batch_size": 32,
    "learning_starts": 64,
    "train_freq": 4,
    "gradient_steps": 1,
    "target_update_interval": 100,
    "exploration_fraction": 0.5,
    "exploration_final_eps": 0.2,
    "device": "cpu",
}
GAMMA = 0.9
TOLERANCE = 0.1  # |learned Q - true Q| after training, in reward units (rewards are ±1)


def train_on_probe(env_id, steps, **switches):
    overrides = {**PROBE_CONFIG, "gamma": GAMMA, "steps": steps, **switches}
    experiment, agent_class = prepare("dqn", env_id, overrides)
    agent = build_agent(experiment, agent_class)
    agent.learn(steps)
    return agent


def q_values(agent, obs):
    with torch.no_grad():
        return agent.q(torch.tensor(obs, dtype=torch.float32)[:, None])


SWITCHES = {
    "vanilla": {},
    "double-dueling": {"double": True, "dueling": True},
    "n_step": {"n_step": 3},
    "prioritized": {"prioritized": True},
}


@pytest.mark.parametrize("switches", SWITCHES.values(), ids=SWITCHES.keys())
@pytest.mark.parametrize(
    ("env_id", "obs", "true_q"),
    [
        ("rlbox/ConstantReward-v0", [0.0], [[1.0]]),
        ("rlbox/ObsReward-v0", [-1.0, 1.0], [[-1.0], [1.0]]),
        ("rlbox/TwoStep-v0", [0.0, 1.0], [[GAMMA], [1.0]]),
        ("rlbox/ActionReward-v0", [0.0], [[-1.0, 1.0]]),
        ("rlbox/ActionObsReward-v0", [-1.0, 1.0], [[1.0, -1.0], [-1.0, 1.0]]),
    ],
)
def test_dqn_learns_probe_values(env_id, obs, true_q, switches):
    agent = train_on_probe(env_id, 2_000, **switches)
    learned = q_values(agent, obs)
    assert torch.allclose(learned, torch.tensor(true_q), atol=TOLERANCE), learned


def test_dqn_acts_greedily_on_learned_values():
    agent = train_on_probe("rlbox/ActionObsReward-v0", 2_000)
    actions = agent.act(torch.tensor([[-1.0], [1.0]]))
    assert actions.tolist() == [0, 1]


def test_dqn_refuses_continuous_actions():
    from rlbox.errors import RlboxError

    experiment, agent_class = prepare("dqn", "Pendulum-v1", {"device": "cpu"})
    with pytest.raises(RlboxError, match="Discrete action space"):
        build_agent(experiment, agent_class)


def test_dqn_bootstraps_through_truncation():
    # gamma 0.5: the true value is 1 / (1 - 0.5) = 2; treating the TimeLimit cut as the end
    # of the task would give the mean truncated return, 1.6125.
    agent = train_on_probe("rlbox/Truncated-v0", 3_000, gamma=0.5)
    assert q_values(agent, [0.0]).item() == pytest.approx(2.0, abs=TOLERANCE)
