"""TF-Agents' algorithms behind rlbox's `Agent` interface: `tfa-dqn`, `tfa-c51`,
`tfa-reinforce`, `tfa-ppo`, `tfa-sac` (one file each; the shared adapter is base.py).

Only the modules of this package import TensorFlow, and only when an agent is built.
"""
