"""Training ``TransferNetworks`` on the core's device mesh: DTensor tensor + sequence parallelism
(:mod:`.tensor_parallel`), FSDP2 of the control branch (:mod:`.data_parallel`), both behind
:func:`.parallelize.parallelize_networks`; each rank loading its own checkpoint shard (:mod:`.shard_loading`); the
per-GPU memory estimate (:mod:`.memory`)."""
