"""cosmos_transfer."""
