"""cosmos_embed."""
