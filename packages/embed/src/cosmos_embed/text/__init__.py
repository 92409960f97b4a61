"""Text side of Cosmos-Embed1: the WordPiece tokenizer with the BLIP-2 ``[DEC]`` token."""
