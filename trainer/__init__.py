"""openwit's CLIP contrastive trainer: model, loss, data, loop, evaluation, CLI.

Imports `schemas` only (never Beam or the pipeline). Entry point: `trainer.cli.main`.
"""
