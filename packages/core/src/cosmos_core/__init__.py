"""cosmos_core."""
