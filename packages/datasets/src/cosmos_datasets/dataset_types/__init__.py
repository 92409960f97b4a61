"""The dataset types this package registers (``dataset_type`` in a SingleDatasetConfig)."""
