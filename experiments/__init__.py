"""Tuned hyper-parameters (hyperparams/*.yaml) and benchmark scripts; ships with rlbox."""
