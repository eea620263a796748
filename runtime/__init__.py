"""Neutral runtime pieces every command shares: the command-line layer, Beam options and runner
selection, the storage layer, logging and progress. Imports nothing of `pipeline` or `trainer`;
modules that need Beam import it themselves, so the trainer can use the Beam-free ones."""
