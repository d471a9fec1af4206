"""Many runs at once: a grid's spec (agents x envs x seeds, spec) and its launcher (local)."""
