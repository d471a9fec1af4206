"""Algorithm parts only agents use: the rollout loop, the on-policy base, rollout and replay
buffers, n-step returns, normalizers, schedules and generators."""
