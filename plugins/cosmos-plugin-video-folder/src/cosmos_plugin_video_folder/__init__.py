"""cosmos-plugin-video-folder: the ``video_folder`` dataset type for cosmos-run.

Nothing is imported here, so that cosmos-run can load the plugin without loading torch.
"""
