"""One training run: building it (build), driving it (runner), its directory (rundir), and what
it writes: checkpoints, metrics (logger), evaluations and videos."""
