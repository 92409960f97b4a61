"""Cosmos-Transfer1 networks: the 7B video DiT, its control branch, strict checkpoint loading and power EMA.

State-dict keys of ``VideoDiT`` and ``ControlDiT`` are the released keys without their ``net.`` prefix
(``transfer1_keys/{base,ctrl}_keys.json`` with ``net.`` stripped); ``TransferNetworks`` puts the prefix
back, holding the control branch as ``net``, the frozen base as ``base_model.net`` and the shared
``logvar`` head exactly as the reference's training model does.
"""
