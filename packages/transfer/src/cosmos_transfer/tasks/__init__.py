"""The ``cosmos-run cosmos-transfer1`` command actions: ``prepare_data``, ``t5_embeddings``, ``control_inputs``.

Each module has ``add_arguments(parser)`` (the reference script's flags) and ``run(args, ctx)``.
Every action writes each output under a temporary name and renames it when complete, and skips
outputs that exist, so an interrupted run is finished by running it again.
"""
