"""Cosmos-Transfer1 training data: the dataset layout, its file formats, and the training dataset.

Modules: ``layout`` (folders and file names of a dataset), ``safe_pickle`` (the restricted unpickler),
``t5_pickle``, ``seg_pickle``, ``keypoint_pickle`` (the reference's pickle formats), ``video_io``
(window decoding, mp4 writing), ``geometry`` (resolutions, aspect buckets, resize, padding),
``dataset`` (:class:`~cosmos_transfer.data.dataset.TransferDataset`), ``collate`` and ``loader``.
Nothing is imported here, so the plugin stays cheap to load.
"""
