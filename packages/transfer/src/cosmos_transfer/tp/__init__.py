"""Tensor-parallel checkpoint conversion on the CPU: ``convert_tp`` splits a consolidated Transfer1 checkpoint into
the reference's ``checkpoints_tp/<name>_model_mp_{k}.pt`` shards (:mod:`.split`), ``merge_tp`` joins shards —
converted or trained — into ``fsdp_checkpoints/`` (:mod:`.merge`). Both stream through bounded memory maps
(:mod:`.reader`) and check their input before writing (:mod:`.recognize`, :mod:`.shards`)."""
