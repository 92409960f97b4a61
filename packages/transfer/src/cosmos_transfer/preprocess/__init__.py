"""Preparing a Cosmos-Transfer1 dataset: sources and clips (``hdvila``, ``sources``, ``clips``,
``video_folder``), T5 caption embeddings (``t5_encoder``) and control inputs computed by models
(``depth``, ``segmentation``, ``keypoints``), all through Hugging Face transformers (``models``)."""
