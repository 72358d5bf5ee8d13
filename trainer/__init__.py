"""Danlu's training engine: `python -m trainer --config run.toml`.

Importing this package must stay cheap and torch-free: the UI process imports
trainer.config, trainer.events and the dataset planning modules, never torch.
"""
