"""Control modalities of Cosmos-Transfer1, one module each, registered by ``cosmos_transfer.plugin``.

``base`` holds the contract (:class:`~cosmos_transfer.modalities.base.ControlModality`); ``edge``,
``vis``, ``upscale`` compute their control from the video on the fly; ``depth``, ``hdmap``, ``lidar``
read frame-aligned mp4 files (``video_file``); ``seg`` paints the SAM2-format masks and ``keypoint``
draws the OpenPose-style skeleton (``skeleton``) from the keypoint pickle.
"""

MODULES = ("edge", "vis", "upscale", "depth", "hdmap", "lidar", "seg", "keypoint")
"""The built-in modality modules; each defines ``MODALITY``."""
