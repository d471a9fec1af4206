"""The catalog: every agent by name, as "module:attribute" entries imported only when used, so
that `import rlbox` loads no agent and TensorFlow loads only for a tfa-* agent."""

from __future__ import annotations

from gymnasium import spaces

from rlbox.agent import Agent
from rlbox.errors import RlboxError
from rlbox.registry import Registry

AGENTS: Registry[type[Agent]] = Registry("agent")
AGENTS.register("dqn", "rlbox.agents.dqn:DQN")
AGENTS.register("reinforce", "rlbox.agents.reinforce:Reinforce")
AGENTS.register("a2c", "rlbox.agents.a2c:A2C")
AGENTS.register("ppo", "rlbox.agents.ppo:PPO")
AGENTS.register("sac", "rlbox.agents.sac:SAC")
AGENTS.register("td3", "rlbox.agents.td3:TD3")
for _name, _cls in [("ppo", "PPO"), ("a2c", "A2C"), ("dqn", "DQN"), ("sac", "SAC"), ("td3", "TD3"),
                    ("ddpg", "DDPG")]:  # fmt: skip
    AGENTS.register(f"sb3-{_name}", f"rlbox.agents.sb3.agents:SB3{_cls}")
for _name, _target in [("dqn", "dqn:TFADQN"), ("c51", "dqn:TFAC51"),
                       ("reinforce", "reinforce:TFAReinforce"), ("ppo", "ppo:TFAPPO"),
                       ("sac", "sac:TFASAC")]:  # fmt: skip
    AGENTS.register(f"tfa-{_name}", f"rlbox.agents.tfagents.{_target}")


def check_action_space(name: str, agent_class: type[Agent], space: spaces.Space, env_id: str):
    """Raise a one-line error naming the agents that fit if `agent_class` cannot drive `space`."""
    if isinstance(space, agent_class.action_spaces):
        return
    kinds = " or ".join(k.__name__ for k in agent_class.action_spaces)
    fits = [n for n in AGENTS if isinstance(space, AGENTS.get(n).action_spaces)]
    raise RlboxError(
        f"{name} needs a {kinds} action space; {env_id} has {space}; "
        f"agents that fit: {', '.join(fits) or 'none'}"
    )
