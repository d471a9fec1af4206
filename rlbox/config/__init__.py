"""Configuration: typed fields (fields), the resolved experiment with its run section and dotted
overrides (experiment), and the tuned values of experiments/hyperparams (tuned)."""
