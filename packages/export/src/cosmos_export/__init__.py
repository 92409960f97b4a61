"""cosmos_export: exporters (ONNX, Hugging Face) that model families reach through ``host.exporters``.

See :mod:`cosmos_export.exporters` for the exporter interface and :mod:`cosmos_export.protocols` for
what a family hands them. Importing this package imports nothing heavy.
"""
