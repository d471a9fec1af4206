"""Agents: one file per algorithm family (registered by name in rlbox.agent.AGENTS)."""
