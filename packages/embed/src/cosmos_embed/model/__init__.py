"""The Cosmos-Embed1 network in plain PyTorch.

Kept import-light on purpose: ``cosmos_embed.model.config`` is imported by the experiment schema before
anything heavy loads, so this package's ``__init__`` imports nothing. Import the modules directly:
``cosmos_embed.model.embed1.CosmosEmbed1``, ``cosmos_embed.model.presets.preset``, ...
"""
