"""Video tokenizers: the released Cosmos-Tokenize1 TorchScript pair and a small built-in autoencoder."""
