#!/usr/bin/env python3
"""Converts a Hugging Face folder's pytorch_model.bin to model.safetensors.

vkinfer never unpickles (a pickle can run arbitrary code), so PyTorch
checkpoints are converted once, here, with torch:

    python3 tools/convert_to_safetensors.py MODEL_DIR

Handles a single pytorch_model.bin and the sharded
pytorch_model.bin.index.json + pytorch_model-0000x-of-0000y.bin layout (each
shard becomes model-0000x-of-0000y.safetensors plus a
model.safetensors.index.json). Tensors that share storage (tied embeddings,
views) are written as separate contiguous copies, because safetensors cannot
store aliases and vkinfer looks tensors up by the names transformers uses.
Values are copied unchanged (no dtype conversion); the result is read back
and compared before the script reports success.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file


def load_pickle(path):
    # weights_only refuses arbitrary objects in the pickle where torch has it.
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        return torch.load(path, map_location="cpu")


def unshare(state_dict, source):
    """Returns a dict of contiguous tensors that share no storage."""
    seen = set()
    out = {}
    for name, tensor in state_dict.items():
        if not isinstance(tensor, torch.Tensor):
            sys.exit(f"{source}: entry {name!r} is a {type(tensor).__name__}, not a tensor")
        key = (tensor.untyped_storage().data_ptr() if hasattr(tensor, "untyped_storage")
               else tensor.storage().data_ptr())
        shared = key in seen and tensor.numel() > 0
        seen.add(key)
        out[name] = tensor.detach().clone().contiguous() if shared or not tensor.is_contiguous() \
            else tensor.detach()
    # Views into one big storage (common in older exports) must also be
    # separated; clone everything whose storage is larger than the tensor.
    for name, tensor in out.items():
        storage_bytes = (tensor.untyped_storage().nbytes() if hasattr(tensor, "untyped_storage")
                         else tensor.storage().nbytes())
        if storage_bytes != tensor.numel() * tensor.element_size():
            out[name] = tensor.clone()
    return out


def convert_file(source, target):
    state_dict = unshare(load_pickle(source), source)
    save_file(state_dict, target, metadata={"format": "pt"})
    reloaded = load_file(target)
    if set(reloaded) != set(state_dict):
        sys.exit(f"{target}: tensor names differ after conversion")
    for name, tensor in state_dict.items():
        if not torch.equal(reloaded[name], tensor):
            sys.exit(f"{target}: tensor {name!r} differs after conversion")
    print(f"wrote {target} ({len(state_dict)} tensors)")
    return list(state_dict)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="Hugging Face model folder with pytorch_model.bin")
    parser.add_argument("--force", action="store_true", help="overwrite existing safetensors files")
    args = parser.parse_args()
    folder = args.model_dir
    single = os.path.join(folder, "pytorch_model.bin")
    index = os.path.join(folder, "pytorch_model.bin.index.json")
    for existing in ("model.safetensors", "model.safetensors.index.json"):
        if os.path.exists(os.path.join(folder, existing)) and not args.force:
            sys.exit(f"{folder}: {existing} already exists (use --force to overwrite)")

    if os.path.exists(single):
        convert_file(single, os.path.join(folder, "model.safetensors"))
        return
    if not os.path.exists(index):
        sys.exit(f"{folder}: no pytorch_model.bin or pytorch_model.bin.index.json")
    with open(index) as f:
        weight_map = json.load(f)["weight_map"]
    new_map = {}
    for shard in sorted(set(weight_map.values())):
        if os.path.basename(shard) != shard:
            sys.exit(f"{index}: shard {shard!r} is not a file name in {folder}")
        target = shard.replace("pytorch_model", "model").replace(".bin", ".safetensors")
        for name in convert_file(os.path.join(folder, shard), os.path.join(folder, target)):
            new_map[name] = target
    missing = set(weight_map) - set(new_map)
    if missing:
        sys.exit(f"{index}: tensors listed but absent from their shards: {sorted(missing)[:5]}")
    total = sum(os.path.getsize(os.path.join(folder, s)) for s in set(new_map.values()))
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": new_map}, f, indent=2)
    print(f"wrote {os.path.join(folder, 'model.safetensors.index.json')}")


if __name__ == "__main__":
    main()
