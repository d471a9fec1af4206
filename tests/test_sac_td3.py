"""SAC and TD3: the squashed Gaussian's log-density, the temperature, the delayed updates, what
the replay stores at episode ends, and the optimum of the Box-action probe."""

import math

import pytest
import torch
from torch import nn

from rlbox.envs.base import Step
from rlbox.nn.backbone import make_backbone
from rlbox.nn.heads import SquashedGaussianActor, squashed_log_prob
from rlbox.run.build import build_agent, prepare

PROBE = "rlbox/TargetAction-v0"
SMALL = {
    "num_envs": 4,
    "net_arch": [32, 32],
    "batch_size": 64,
    "learning_starts": 64,
    "lr": 3e-3,
    "device": "cpu",
    "backend": "torch",
}


def make(agent, env_id=PROBE, steps=4_000, **values):
    experiment, agent_class = prepare(agent, env_id, {**SMALL, "steps": steps, **values})
    return build_agent(experiment, agent_class)


def test_squashed_log_density_matches_the_change_of_variables_numerically():
    """exp(log pi(a)) against the density of a = tanh(u) from u's CDF by finite differences."""
    normal = torch.distributions.Normal(torch.tensor(0.3, dtype=torch.float64), 0.8)
    mean, log_std = torch.tensor([[0.3]]), torch.tensor([[math.log(0.8)]])
    for a in (-0.95, -0.5, 0.0, 0.4, 0.9, 0.99):
        h = 1e-5
        lo, hi = torch.tensor(a - h, dtype=torch.float64), torch.tensor(a + h, dtype=torch.float64)
        density = (normal.cdf(torch.atanh(hi)) - normal.cdf(torch.atanh(lo))) / (2 * h)
        u = torch.atanh(torch.tensor([[a]]))
        ours = squashed_log_prob(u, mean, log_std).exp()
        assert ours.item() == pytest.approx(density.item(), rel=1e-3), a


def test_squashed_log_density_sums_dimensions_and_stays_finite_when_saturated():
    u = torch.tensor([[0.5, -30.0, 30.0]])
    mean, log_std = torch.zeros(1, 3), torch.zeros(1, 3)
    total = squashed_log_prob(u, mean, log_std)
    parts = sum(squashed_log_prob(u[:, i : i + 1], mean[:, :1], log_std[:, :1]) for i in range(3))
    assert torch.isfinite(total).all()
    assert torch.allclose(total, parts)


def test_the_actor_samples_in_bounds_and_acts_deterministically_on_request():
    torch.manual_seed(0)
    actor = SquashedGaussianActor(make_backbone("flatten", _box(3)), 2, [16])
    obs = torch.randn(500, 3)
    action, log_prob = actor(obs, generator=torch.Generator().manual_seed(1))
    assert action.shape == (500, 2) and log_prob.shape == (500,)
    assert action.abs().max() <= 1.0
    deterministic, _ = actor(obs, deterministic=True)
    assert not torch.equal(action, deterministic)
    assert torch.equal(deterministic, actor(obs, deterministic=True)[0])


def _box(n):
    from gymnasium import spaces

    return spaces.Box(-1.0, 1.0, shape=(n,))


@pytest.mark.parametrize("agent", ["sac", "td3"])
def test_finds_the_optimal_action_of_the_box_probe(agent):
    """rlbox/TargetAction-v0: reward -(a - obs/2)^2, so the best action is obs / 2, inside the
    bounds: the deterministic policy must find it, not a bound."""
    trained = make(agent, action_noise_std=0.2) if agent == "td3" else make(agent)
    trained.learn(3_000)
    actions = trained.act(torch.tensor([[-1.0], [1.0]])).squeeze(-1)
    assert torch.allclose(actions, torch.tensor([-0.5, 0.5]), atol=0.1), actions


@pytest.mark.parametrize("target", [5.0, -5.0])
def test_the_temperature_moves_toward_the_target_entropy(target):
    """Entropy above the target lowers alpha, below it raises alpha (eq. 18)."""
    agent = make("sac", target_entropy=target)
    agent.learn(600)
    alpha = agent.temperature().item()
    entropy = -agent.actor(torch.tensor([[1.0], [-1.0]]).repeat(200, 1))[1].mean().item()
    if target > 0:  # a 1-d squashed Gaussian cannot reach +5 nats: alpha must only grow
        assert entropy < target and alpha > 1.0
    else:  # -5 nats is far below the start: alpha must shrink
        assert entropy > target and alpha < 1.0


def test_a_fixed_temperature_stays_fixed():
    agent = make("sac", ent_coef=0.3, learn_ent_coef=False)
    agent.learn(300)
    assert agent.temperature().item() == pytest.approx(0.3)


def test_td3_updates_actor_and_targets_every_policy_delay_critic_steps():
    agent = make("td3", policy_delay=3, learning_starts=68, train_freq=4, gradient_steps=1)
    agent.learn(64)  # fill the buffer: no gradient step before 68 env steps
    assert agent.gradient_steps == 0
    actor = [p.detach().clone() for p in agent.actor.parameters()]
    target = [p.detach().clone() for p in agent.critic_target.parameters()]
    changes = []
    for _ in range(12):
        agent.learn(4)  # one vector step of 4 copies: one round of one gradient step
        now = [p.detach().clone() for p in agent.actor.parameters()]
        changes.append(any(not torch.equal(a, b) for a, b in zip(actor, now, strict=True)))
        moved = [p.detach() for p in agent.critic_target.parameters()]
        assert changes[-1] == any(not torch.equal(a, b) for a, b in zip(target, moved, strict=True))
        actor, target = now, [p.clone() for p in moved]
    assert agent.gradient_steps == 12
    assert changes == [step % 3 == 0 for step in range(1, 13)]
    assert agent.actor_updates == 4


@pytest.mark.parametrize("agent", ["sac", "td3"])
def test_truncation_bootstraps_and_termination_does_not(agent):
    """What the replay stores: discount gamma and the true final observation where a time limit
    cut the episode, 0 where it terminated, gamma where it goes on."""
    built = make(agent, gamma=0.9)
    obs = torch.tensor([[0.1], [0.2], [0.3], [0.4]])
    final = torch.tensor([[1.1], [1.2], [1.3], [1.4]])
    reset = torch.zeros(4, 1)
    terminated = torch.tensor([True, False, True, False])
    truncated = torch.tensor([False, True, True, False])
    done = terminated | truncated
    step = Step(
        obs=torch.where(done[:, None], reset, final), reward=torch.ones(4),
        terminated=terminated, truncated=truncated, done=done, final_obs=final,
        episode_return=torch.zeros(4), episode_length=torch.zeros(4, dtype=torch.long),
    )  # fmt: skip
    built.observe(obs, torch.tensor([[0.5], [-0.5], [1.0], [-1.0]]), step)
    stored = built.buffer.state_dict()
    assert torch.allclose(stored["discount"], torch.tensor([0.0, 0.9, 0.0, 0.9]))
    assert torch.equal(stored["next_obs"], final)
    assert torch.allclose(stored["action"].squeeze(-1), torch.tensor([0.5, -0.5, 1.0, -1.0]))


def test_actions_are_scaled_to_the_env_bounds_and_stored_in_unit_range():
    """Pendulum's torque bounds are [-2, 2]: the agent acts in them, its replay holds [-1, 1]."""
    agent = make("td3", env_id="Pendulum-v1", num_envs=2, learning_starts=0)
    agent.learn(400)
    actions = agent.buffer.state_dict()["action"]
    assert actions.abs().max() <= 1.0 and actions.abs().max() > 0.5
    env_actions = agent.act(torch.randn(64, 3), deterministic=False)
    assert env_actions.abs().max() <= 2.0 and env_actions.abs().max() > 1.0


def test_gsde_noise_has_the_variance_the_log_density_assumes():
    """u - mu = z W with W ~ N(0, exp(log_std)^2): its variance over draws of W is the
    sigma(s)^2 = z^2 exp(2 log_std) that log pi uses (so the density scores the samples)."""
    torch.manual_seed(0)
    actor = SquashedGaussianActor(make_backbone("flatten", _box(3)), 2, [8], sde_log_std_init=-1.0)
    obs = torch.randn(1, 3)
    generator = torch.Generator().manual_seed(2)
    u = torch.stack(
        [torch.atanh(actor(obs, draw=actor.sde_draw(generator))[0].clamp(-0.999999, 0.999999))
         for _ in range(4000)]
    )  # fmt: skip
    latent = actor.net(obs)
    expected = latent.square() @ (2 * actor.log_std).exp()
    assert torch.allclose(u.var(dim=0), expected, rtol=0.1), (u.var(dim=0), expected)


def test_gsde_entropy_gradient_reaches_the_features():
    """As SB3's SAC (`learn_features=True`): with the mean held at 0, log pi depends on the
    hidden layers only through the noise z(s) W and its variance, and still moves them."""
    torch.manual_seed(0)
    actor = SquashedGaussianActor(make_backbone("flatten", _box(3)), 2, [8], sde_log_std_init=-1.0)
    nn.init.zeros_(actor.mean.weight)
    nn.init.zeros_(actor.mean.bias)
    _, log_prob = actor(torch.randn(16, 3), generator=torch.Generator().manual_seed(1))
    log_prob.sum().backward()
    assert actor.net[0].weight.grad.abs().sum() > 0


def test_gsde_holds_its_noise_for_sde_sample_freq_steps():
    agent = make("sac", use_sde=True, sde_sample_freq=3, learning_starts=0, train_freq=1000)
    obs = torch.ones(4, 1)
    actions = [agent.explore(obs, 10) for _ in range(6)]
    assert torch.equal(actions[0], actions[1]) and torch.equal(actions[1], actions[2])
    assert not torch.equal(actions[2], actions[3])
    assert torch.equal(actions[3], actions[5])
    assert not torch.equal(actions[0][0], actions[0][1])  # one noise matrix per env copy


def test_sac_with_gsde_finds_the_optimal_action():
    trained = make("sac", use_sde=True, log_std_init=-1.0, sde_sample_freq=4)
    trained.learn(3_000)
    actions = trained.act(torch.tensor([[-1.0], [1.0]])).squeeze(-1)
    assert torch.allclose(actions, torch.tensor([-0.5, 0.5]), atol=0.1), actions


def test_the_twin_critic_members_are_independent_mlps():
    """The ensemble's member i is the MLP of its own weights; the first member alone is the
    first row of all of them (what TD3's actor reads)."""
    from rlbox.nn.heads import EnsembleMLP

    torch.manual_seed(0)
    ensemble = EnsembleMLP(2, [3, 8, 1])
    x = torch.randn(5, 3)
    both = ensemble(x)
    for i in range(2):
        hidden = torch.relu(x @ ensemble.weights[0][i] + ensemble.biases[0][i])
        assert torch.allclose(both[i], hidden @ ensemble.weights[1][i] + ensemble.biases[1][i])
    assert not torch.allclose(both[0], both[1])
    assert torch.equal(ensemble(x, members=1)[0], both[0])
