"""Hyper-parameter search with Optuna: `rlbox tune` (study) over a search space (space)."""
