"""Cosmos-Transfer1 post-training on the core's loop: the training module, weights, tokenizers, EMA, layout."""
