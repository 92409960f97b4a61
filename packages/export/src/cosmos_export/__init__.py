"""cosmos_export."""
