"""cosmos-transfer's plugin. Cosmos-Transfer1 components are registered here as they land."""
