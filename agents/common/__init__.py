"""Algorithm parts only agents use: the off-policy step loop, the on-policy base with its rollout
collection, rollout and replay buffers, n-step returns, the gradient step, normalizers,
schedules and generators."""
