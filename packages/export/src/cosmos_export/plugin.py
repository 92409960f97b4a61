"""cosmos-export's plugin. Exporters (onnx, huggingface) are registered here as they land."""
