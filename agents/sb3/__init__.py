"""Stable-Baselines3's algorithms behind rlbox's `Agent` interface: configs (config), the env
adapter and the step-exact `learn` (vec_env), the agents (agents)."""
