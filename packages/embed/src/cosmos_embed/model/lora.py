"""LoRA fine-tuning through PEFT, injected in place so the model keeps its class and API.

``apply_lora`` wraps the modules named by ``model.lora.target_modules`` (ViT ``qkv``/``attn.proj``/
``fc1``/``fc2``, Q-Former ``query``/``key``/``value``/``dense``, the projections) with adapters and
``model.lora.modules_to_save`` with trainable copies; everything else is frozen. ``merge_lora`` folds
the adapters back and returns the plain model with the original key names, for export.
"""

from __future__ import annotations

from cosmos_core.errors import UserInputError
from torch import nn

from cosmos_embed.model.config import DEFAULT_LORA_TARGETS, LoRAConfig, validate_network_config
from cosmos_embed.model.embed1 import CosmosEmbed1

# The module types PEFT's LoRA adapts (peft.tuners.lora.LoraModel._create_new_module).
WRAPPABLE = (nn.Linear, nn.Embedding, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.MultiheadAttention)


class LoRAConfigError(UserInputError, ValueError):
    """``model.lora`` asks for something the model cannot do: unknown module names, LoRA with TE, ..."""


def _matches_target(pattern: str, name: str) -> bool:
    """PEFT's rule for ``target_modules`` lists: the whole dotted name, or its last components."""
    return name == pattern or name.endswith("." + pattern)


def _module_problems(lora: LoRAConfig, modules: dict[str, nn.Module]) -> list[str]:
    """One line per ``model.lora`` module pattern that matches nothing, or something LoRA cannot wrap."""
    problems = []
    known = [p for p in DEFAULT_LORA_TARGETS if any(_matches_target(p, name) for name in modules)]
    unknown = [p for p in lora.target_modules or [] if not any(_matches_target(p, name) for name in modules)]
    if unknown:
        problems.append(
            f"model.lora.target_modules: {unknown} match no module of the model (a pattern matches a "
            f"module whose dotted name ends with it); names that exist include {known}"
        )
    for pattern in lora.target_modules or []:
        unwrappable = [
            name
            for name, module in modules.items()
            if _matches_target(pattern, name) and not isinstance(module, WRAPPABLE)
        ]
        if unwrappable:
            problems.append(
                f"model.lora.target_modules: {pattern!r} matches {unwrappable[0]} "
                f"({type(modules[unwrappable[0]]).__name__}), which LoRA cannot wrap: it adapts Linear, "
                f"Embedding and Conv modules; name those, e.g. {known}"
            )
    # PEFT's rule for modules_to_save is a plain suffix match.
    unsaved = [p for p in lora.modules_to_save or [] if not any(name.endswith(p) for name in modules)]
    if unsaved:
        top_level = [name for name in modules if name and "." not in name]
        problems.append(
            f"model.lora.modules_to_save: {unsaved} match no module of the model; its top-level modules are {top_level}"
        )
    return problems


def apply_lora(model: CosmosEmbed1, lora: LoRAConfig) -> CosmosEmbed1:
    """Inject LoRA adapters into ``model`` (in place) and return it; unchanged when ``lora.enabled`` is false.

    Raises LoRAConfigError (a ValueError) for module names the model lacks or an impossible combination,
    e.g. LoRA with Transformer Engine.
    Load pretrained weights before calling this: adapted modules change their state-dict keys.
    """
    if not lora.enabled:
        return model
    problems = validate_network_config(model.config, lora)
    problems += _module_problems(lora, dict(model.named_modules()))
    if problems:
        raise LoRAConfigError("cannot apply LoRA:\n  - " + "\n  - ".join(problems))
    from peft import LoraConfig, inject_adapter_in_model

    peft_config = LoraConfig(
        r=lora.lora_rank,
        lora_alpha=lora.lora_alpha,
        lora_dropout=lora.lora_dropout,
        bias=lora.bias,
        use_rslora=lora.use_rslora,
        use_dora=lora.use_dora,
        target_modules=list(lora.target_modules or []),
        modules_to_save=list(lora.modules_to_save or []) or None,
    )
    was_training = model.training
    try:
        inject_adapter_in_model(peft_config, model)
    except ValueError as error:  # what PEFT refuses beyond the checks above
        raise LoRAConfigError(f"model.lora: PEFT refused the adapters: {error}") from error
    # New adapter modules start in training mode (LoRA dropout active); keep the model's mode.
    model.train(was_training)
    return model


def has_lora(model: nn.Module) -> bool:
    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils import ModulesToSaveWrapper

    return any(isinstance(module, (BaseTunerLayer, ModulesToSaveWrapper)) for module in model.modules())


def merge_lora(model: CosmosEmbed1) -> CosmosEmbed1:
    """Fold adapters into their base weights, unwrap ``modules_to_save`` copies, and return the plain model.

    Works in place; the result has the original state-dict keys and every parameter trainable again.
    """
    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils import ModulesToSaveWrapper

    replacements = []
    for name, module in model.named_modules():
        if isinstance(module, BaseTunerLayer):
            module.merge()
            replacements.append((name, module.get_base_layer()))
        elif isinstance(module, ModulesToSaveWrapper):
            replacements.append((name, module.modules_to_save[module.active_adapters[0]]))
    for name, plain in replacements:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, plain)
    model.requires_grad_(True)
    return model
