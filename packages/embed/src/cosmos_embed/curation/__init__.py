"""Curation at scale: a LanceDB clip index (build, search), semantic deduplication and text filtering.

LanceDB and pyarrow come with ``cosmos-embed[curation]``, Ray Data with ``cosmos-embed[ray]``; both are
imported only by these actions (see :mod:`cosmos_embed.curation.deps`).
"""
