"""Cosmos-Transfer1 experiments: the config schema and the registered experiment names."""
