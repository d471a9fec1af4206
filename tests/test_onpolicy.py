"""REINFORCE, A2C, PPO: GAE and returns against hand computation, probe envs, update direction."""

import pytest
import torch
from gymnasium import spaces

from rlbox.agents.common.rollout import EpisodeBuffer, Rollout, gae
from rlbox.agents.ppo import ppo_policy_loss, ppo_value_loss
from rlbox.errors import ConfigError
from rlbox.nn.distributions import make_policy_head
from rlbox.run.build import build_agent, prepare


def col(*values):
    return torch.tensor(values, dtype=torch.float32)[:, None]  # [T, 1]


def test_gae_matches_hand_computation():
    gamma, lam = 0.5, 0.5
    reward, value = col(1.0, 2.0, 3.0), col(0.5, 1.0, 1.5)
    next_value = col(1.0, 1.5, 4.0)  # V(s1), V(s2), V(s3)
    none = col(0.0, 0.0, 0.0)
    adv, returns = gae(reward, value, next_value, none, none, gamma, lam)
    d2 = 3.0 + 0.5 * 4.0 - 1.5  # 3.5
    d1 = 2.0 + 0.5 * 1.5 - 1.0  # 1.75
    d0 = 1.0 + 0.5 * 1.0 - 0.5  # 1.0
    a2, a1 = d2, d1 + 0.25 * d2
    a0 = d0 + 0.25 * a1
    assert torch.allclose(adv[:, 0], torch.tensor([a0, a1, a2]))
    assert torch.allclose(returns, adv + value)


def test_gae_stops_at_episode_ends_and_bootstraps_only_truncations():
    gamma, lam = 0.5, 1.0
    reward, value = col(1.0, 1.0), col(0.0, 0.0)
    next_value = col(4.0, 8.0)
    terminated, done = col(1.0, 0.0), col(1.0, 0.0)
    adv, _ = gae(reward, value, next_value, terminated, done, gamma, lam)
    assert adv[:, 0].tolist() == [1.0, 5.0]  # step 0 ends the episode: no bootstrap, no carry
    truncated_done = col(1.0, 0.0)
    adv, _ = gae(reward, value, next_value, col(0.0, 0.0), truncated_done, gamma, lam)
    assert adv[:, 0].tolist() == [3.0, 5.0]  # truncated: 1 + 0.5 * V(final) = 3, no carry


def add(buf, reward, done, terminated=None, bootstrap=0.0):
    n = len(reward)
    z = torch.zeros(n)
    buf.add(torch.zeros(n, 1), torch.zeros(n, dtype=torch.long), z, z, torch.tensor(reward),
            torch.tensor(terminated if terminated is not None else done, dtype=torch.float32),
            torch.tensor(done, dtype=torch.float32), torch.full((n,), bootstrap))  # fmt: skip


def test_episode_buffer_uses_whole_episodes_and_carries_the_rest():
    buf = EpisodeBuffer(torch.device("cpu"))
    add(buf, [1.0, 1.0], [0.0, 0.0])
    add(buf, [2.0, 2.0], [1.0, 0.0])  # copy 0 ends its episode
    add(buf, [4.0, 4.0], [0.0, 0.0])
    batch = buf.take(gamma=0.5)
    # only copy 0's two steps: returns 1 + 0.5 * 2 = 2 and 2
    assert sorted(batch.returns.tolist()) == [2.0, 2.0]
    add(buf, [8.0, 8.0], [0.0, 1.0])  # copy 1 ends: its 4 steps are now complete
    batch = buf.take(gamma=0.5)
    assert sorted(batch.returns.tolist()) == [4.0, 6.0, 8.0, 8.0]  # 1+.5*6, 2+.5*8, 4+.5*8, 8
    assert buf.take(gamma=0.5) is None


def test_episode_buffer_bootstraps_a_truncated_episode():
    buf = EpisodeBuffer(torch.device("cpu"))
    add(buf, [1.0], [1.0], terminated=[0.0], bootstrap=6.0)
    assert buf.take(gamma=0.5).returns.tolist() == [4.0]


def test_ppo_losses_on_known_numbers():
    old = torch.log(torch.tensor([0.5, 0.5]))
    new = torch.log(torch.tensor([0.75, 0.25]))  # ratios 1.5 and 0.5
    adv = torch.tensor([1.0, 1.0])
    # clip 0.2: min(1.5, 1.2) * 1 and min(0.5, 0.8)... = 1.2 and 0.5
    assert ppo_policy_loss(new, old, adv, 0.2).item() == pytest.approx(-(1.2 + 0.5) / 2)
    v = ppo_value_loss(torch.tensor([3.0]), torch.tensor([1.0]), torch.tensor([1.0]), 0.5)
    assert v.item() == pytest.approx(4.0)  # SB3's plain squared error; the unclipped is larger


PROBE = {"num_envs": 8, "hidden_sizes": [32], "lr": 3e-3, "device": "cpu"}
PER_AGENT = {
    "ppo": {"n_steps": 16, "batch_size": 64, "n_epochs": 4},
    "a2c": {"n_steps": 8, "optimizer": "adam"},
    "reinforce": {"episodes_per_update": 16},
}
GAMMA = 0.5
TOLERANCE = 0.15


def train(agent_name, env_id, steps=4_000, **extra):
    overrides = {**PROBE, **PER_AGENT[agent_name], "gamma": GAMMA, "steps": steps, **extra}
    experiment, agent_class = prepare(agent_name, env_id, overrides)
    agent = build_agent(experiment, agent_class)
    agent.learn(steps)
    return agent


def values(agent, obs):
    with torch.no_grad():
        return agent.net.value(torch.tensor(obs, dtype=torch.float32)[:, None])


def action_probs(agent, obs):
    with torch.no_grad():
        dist, _ = agent.net(torch.tensor(obs, dtype=torch.float32)[:, None])
        return dist.probs


AGENTS = ["reinforce", "a2c", "ppo"]


@pytest.mark.parametrize("agent_name", AGENTS)
@pytest.mark.parametrize(
    ("env_id", "obs", "true_v", "steps"),
    [
        ("rlbox/ConstantReward-v0", [0.0], [1.0], 4_000),
        ("rlbox/ObsReward-v0", [-1.0, 1.0], [-1.0, 1.0], 4_000),
        ("rlbox/TwoStep-v0", [0.0, 1.0], [GAMMA, 1.0], 4_000),
        # Bootstrapping from V(final obs) converges like value iteration: give it more steps.
        # Treating the cut as the end would settle at 1.6125 instead of 2.
        ("rlbox/Truncated-v0", [0.0], [1.0 / (1.0 - GAMMA)], 8_000),
    ],
)
def test_value_learning(agent_name, env_id, obs, true_v, steps):
    agent = train(agent_name, env_id, steps=steps)
    assert torch.allclose(values(agent, obs), torch.tensor(true_v), atol=TOLERANCE)


@pytest.mark.parametrize("agent_name", AGENTS)
@pytest.mark.parametrize(
    ("env_id", "obs", "best"),
    [("rlbox/ActionReward-v0", [0.0], [1]), ("rlbox/ActionObsReward-v0", [-1.0, 1.0], [0, 1])],
)
def test_policy_learns_the_rewarded_action(agent_name, env_id, obs, best):
    agent = train(agent_name, env_id, ent_coef=0.0)
    probs = action_probs(agent, obs)
    assert probs[torch.arange(len(best)), best].min() > 0.9, probs
    assert agent.act(torch.tensor(obs)[:, None]).tolist() == best


@pytest.mark.parametrize("agent_name", AGENTS)
def test_one_update_moves_the_policy_towards_the_advantage(agent_name):
    experiment, agent_class = prepare(agent_name, "rlbox/ActionReward-v0", {**PROBE, "lr": 1e-2})
    agent = build_agent(experiment, agent_class)
    obs = torch.zeros(64, 1)
    action = torch.arange(64) % 2
    with torch.no_grad():
        dist, value = agent.net(obs)
    advantage = torch.where(action == 1, 1.0, -1.0)
    before = action_probs(agent, [0.0])[0, 1].item()
    rollout = Rollout(obs, action, dist.log_prob(action), value, advantage, value + advantage)
    agent.train_on(rollout)
    assert action_probs(agent, [0.0])[0, 1].item() > before + 1e-3


def test_gaussian_head_keeps_actions_in_bounds():
    space = spaces.Box(-2.0, 2.0, shape=(3,))
    for bounds in ("clip", "squash"):
        head = make_policy_head(space, 4, log_std_init=1.0, bounds=bounds)
        dist = head(torch.randn(256, 4))
        action = head.to_env(dist.sample())
        assert action.shape == (256, 3)
        assert action.abs().max() <= 2.0
        assert dist.log_prob(dist.sample()).shape == (256,)


def test_multidiscrete_head():
    head = make_policy_head(spaces.MultiDiscrete([3, 2]), 4)
    dist = head(torch.randn(5, 4))
    action = dist.sample()
    assert action.shape == (5, 2) and (action[:, 0] < 3).all() and (action[:, 1] < 2).all()
    assert dist.log_prob(action).shape == (5,) and dist.entropy().shape == (5,)


@pytest.mark.parametrize(
    ("agent_name", "env_id", "overrides", "message"),
    [
        ("ppo", "CartPole-v1", {"n_steps": 0}, "'n_steps': must be >= 1"),
        ("ppo", "CartPole-v1", {"clip_range": -1}, "'clip_range': must be positive"),
        ("a2c", "CartPole-v1", {"gae_lambda": 2}, "'gae_lambda'"),
        ("reinforce", "CartPole-v1", {"episodes_per_update": 0}, "'episodes_per_update'"),
        ("ppo", "CartPole-v1", {"action_bounds": "squash"}, "Box action spaces only"),
        ("a2c", "CartPole-v1", {"use_sde": True}, "use_sde applies to Box action spaces only"),
        ("ppo", "Pendulum-v1", {"sde_sample_freq": 0}, "'sde_sample_freq': must be -1 or >= 1"),
    ],
)
def test_invalid_settings(agent_name, env_id, overrides, message):
    with pytest.raises(ConfigError, match=message):
        experiment, agent_class = prepare(agent_name, env_id, {**overrides, "device": "cpu"})
        build_agent(experiment, agent_class)


def test_distributions_match_torch():
    from torch.distributions import Categorical as TorchCategorical
    from torch.distributions import Independent, Normal

    from rlbox.nn.distributions import Categorical, DiagGaussian

    logits = torch.randn(6, 3)
    ours, ref = Categorical(logits), TorchCategorical(logits=logits)
    action = torch.tensor([0, 1, 2, 0, 1, 2])
    assert torch.allclose(ours.log_prob(action), ref.log_prob(action), atol=1e-6)
    assert torch.allclose(ours.entropy(), ref.entropy(), atol=1e-6)
    torch.manual_seed(0)
    counts = torch.bincount(Categorical(torch.tensor([[0.0, 1.0]]).expand(4000, 2)).sample())
    assert abs(counts[1].item() / 4000 - torch.sigmoid(torch.tensor(1.0)).item()) < 0.03

    mean, log_std = torch.randn(5, 2), torch.randn(2)
    ours, ref = DiagGaussian(mean, log_std), Independent(Normal(mean, log_std.exp()), 1)
    x = torch.randn(5, 2)
    assert torch.allclose(ours.log_prob(x), ref.log_prob(x), atol=1e-5)
    assert torch.allclose(ours.entropy(), ref.entropy(), atol=1e-5)


def test_squash_needs_bounds_on_both_sides():
    import numpy as np

    from rlbox.errors import RlboxError

    half_open = spaces.Box(np.float32([-1.0]), np.float32([np.inf]), dtype=np.float32)
    with pytest.raises(RlboxError, match="finite action bounds"):
        make_policy_head(half_open, 4, bounds="squash")
    make_policy_head(half_open, 4, bounds="clip")  # clipping to an infinite bound is fine


@pytest.mark.parametrize(
    ("agent_name", "use_sde"),
    [("reinforce", False), ("a2c", False), ("a2c", True), ("ppo", False), ("ppo", True)],
)
def test_gaussian_policy_finds_the_target_action(agent_name, use_sde):
    # gSDE's std is summed over the features (32 here): start it lower to begin near std 0.4.
    log_std_init = -2.0 if use_sde else -1.0
    agent = train(
        agent_name, "rlbox/TargetAction-v0", steps=6_000, use_sde=use_sde, log_std_init=log_std_init
    )
    obs = torch.tensor([[-1.0], [1.0]])
    assert torch.allclose(agent.act(obs), obs / 2, atol=TOLERANCE), agent.act(obs)


def test_gsde_noise_is_a_fixed_linear_function_of_the_features():
    torch.manual_seed(0)
    head = make_policy_head(spaces.Box(-1.0, 1.0, shape=(2,)), 3, log_std_init=-1.0, sde=True)
    features = torch.randn(4, 3)
    head.reset_noise(4)
    dist = head(features)
    first, second = dist.sample(), dist.sample()
    assert torch.equal(first, second)  # the same weights until the next reset_noise
    expected = torch.einsum("bf,bfa->ba", features, head.weights)
    assert torch.allclose(first - dist.mean, expected)
    head.reset_noise(4)
    assert not torch.allclose(head(features).sample(), first)

    # Over many weight draws the noise has the variance the distribution scores with.
    feature = torch.randn(1, 3)
    head.reset_noise(20_000)
    many = head(feature.expand(20_000, 3))
    noise = many.sample() - many.mean
    std = many.log_std[0].exp()
    assert torch.allclose(noise.std(0), std, rtol=0.05)
    assert torch.allclose(std, (feature.square() @ head.log_std.exp().square()).sqrt()[0])


def test_gsde_redraws_its_weights_once_per_rollout():
    overrides = {**PROBE, **PER_AGENT["a2c"], "use_sde": True, "steps": 64}
    experiment, agent_class = prepare("a2c", "rlbox/TargetAction-v0", overrides)
    agent = build_agent(experiment, agent_class)
    agent.learn(8)  # one vector step of 8 copies: the rollout's first, which draws the weights
    first = agent.net.head.weights.clone()
    agent.learn(48)  # six more: the same rollout, the same weights
    assert torch.equal(agent.net.head.weights, first)
    agent.learn(16)  # the rollout's last step and its update, then the next rollout's first
    assert agent.updates == 1
    assert not torch.equal(agent.net.head.weights, first)


def test_a_rollout_cut_by_the_budget_continues_in_the_next_call():
    """learn(chunk) with chunks that do not divide the rollout gives the same rollouts, updates
    and network as one call: collection stops mid-rollout and picks up where it stopped."""
    overrides = {**PROBE, **PER_AGENT["ppo"], "steps": 1_000}
    experiment, agent_class = prepare("ppo", "rlbox/ActionObsReward-v0", overrides)
    whole, chunked = build_agent(experiment, agent_class), build_agent(experiment, agent_class)
    whole.learn(3 * 128)
    for _ in range(8):
        chunked.learn(48)  # 6 vector steps: rollouts of 16 end inside chunks 3, 6 and 8
    assert whole.updates == chunked.updates == 3
    assert whole.env_steps == chunked.env_steps
    for key, value in whole.net.state_dict().items():
        assert torch.equal(value, chunked.net.state_dict()[key]), key


def test_running_mean_std_merges_batches_exactly():
    from rlbox.agents.common.normalize import RunningMeanStd

    torch.manual_seed(0)
    batches = [torch.randn(n, 3) * 5 + 2 for n in (1, 7, 3, 8, 2)]
    rms = RunningMeanStd((3,), torch.device("cpu"))
    for batch in batches:
        rms.update(batch)
    everything = torch.cat(batches).double()
    assert torch.allclose(rms.mean, everything.mean(0), atol=1e-5)
    assert torch.allclose(rms.var, everything.var(0, unbiased=False), atol=1e-4)
    assert rms.count == pytest.approx(21, abs=1e-3)
