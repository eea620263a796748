"""`python -m pipeline subset`: re-shard the kept samples of a shard folder, without the network."""
