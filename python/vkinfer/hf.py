"""transformers' generate() over a vkinfer CausalLM.

`HuggingFaceGenerationModelAdapter(config, model)` is a `transformers.PreTrainedModel` (so it has
`GenerationMixin.generate`) whose `forward` runs vkinfer's prefill and decode steps against the
engine's KV cache and returns the logits. transformers then does what it always does: greedy,
sampling, beam search, every logits processor, stopping criteria, streamers.

How a generate() call maps onto the engine:

- Batch row b lives in a KV-cache slot (row b -> slot b at the start). The first forward of a
  call (no `past_key_values`) empties the cache and feeds each row's real tokens (those with
  attention_mask == 1; left padding is skipped), so every sequence starts at position 0, as
  transformers' position_ids (cumsum of the mask) do. Later forwards append the new token(s).
- The logits come back as [B, T, V] float32: each real position gets its logits, padded
  positions get zeros (transformers reads only `logits[:, -1, :]`, always a real token under
  left padding).
- `past_key_values` is a `VkinferCache`: no tensors, only which slot each row uses and how many
  of the input columns the engine has seen. Beam search reorders rows through its
  `reorder_cache(beam_idx)`: a row that takes over a beam reuses that beam's slot when it is the
  first to claim it, else gets a copy on the device (`CausalLM.copy_slots`). That needs up to
  2 * rows - 1 slots: load the model with `batch >= 2 * num_beams * batch_size`.
- Contrastive search and assisted generation edit the KV tensors themselves: they raise
  ValueError.
- Dynamic rope_scaling follows the batch, as in transformers: each forward tells the engine the
  longest row's length (the attention mask's longest run of real tokens, which in generate() is
  the padded width), so a left-padded batch rotates every row as transformers' batched forward does.
"""
from __future__ import annotations

import numpy as np
import torch
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast

from . import CausalLM

__all__ = ["HuggingFaceGenerationModelAdapter", "VkinferCache", "load_adapter"]


class VkinferCache:
    """Stands for the engine's KV cache during one generate() call: the slot of every batch row
    and how many input columns have been fed. transformers keeps it as `past_key_values`."""

    def __init__(self, model: CausalLM, slots: list[int], seen: int, epoch: int):
        self.model = model
        self.slots = slots
        self.seen = seen  # columns of input_ids the engine has fed
        self.epoch = epoch  # the adapter's call this cache belongs to

    def reorder_cache(self, beam_idx) -> None:
        """Row b continues the history of row beam_idx[b] (transformers' beam search)."""
        sources = [int(i) for i in (beam_idx.tolist() if hasattr(beam_idx, "tolist") else beam_idx)]
        if len(sources) != len(self.slots):
            raise ValueError(f"reorder_cache: {len(sources)} beam indices for {len(self.slots)} rows")
        free = [s for s in range(self.model.batch) if s not in set(self.slots)]
        claimed: set[int] = set()
        new_slots, copy_src, copy_dst = [], [], []
        for source in sources:
            slot = self.slots[source]
            if slot not in claimed:  # the first row to continue a beam takes its slot as it is
                claimed.add(slot)
                new_slots.append(slot)
                continue
            if not free:
                raise ValueError(
                    f"beam search needs more KV-cache slots than the model's {self.model.batch}. HINT: "
                    f"load the CausalLM with batch >= {2 * len(self.slots)} (2 x num_beams x batch size)")
            target = free.pop(0)
            copy_src.append(slot)
            copy_dst.append(target)
            new_slots.append(target)
        if copy_src:
            self.model.copy_slots(copy_src, copy_dst)
        self.slots = new_slots

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.seen


class HuggingFaceGenerationModelAdapter(PreTrainedModel):
    """A `PreTrainedModel` whose forward runs a vkinfer `CausalLM` (see the module's doc).

    config: the model's transformers config (`AutoConfig.from_pretrained(path)`), which gives
    generate() its defaults (eos, pad, bos); model: a `vkinfer.CausalLM` of the same folder.
    """

    main_input_name = "input_ids"
    base_model_prefix = "vkinfer"
    _supports_cache_class = False

    def __init__(self, config: PretrainedConfig, model: CausalLM):
        super().__init__(config)
        if not isinstance(model, CausalLM):
            raise TypeError(f"model must be a vkinfer.CausalLM, not {type(model).__name__}")
        vocab = getattr(config, "vocab_size", model.vocab_size)
        if vocab != model.vocab_size:
            raise ValueError(f"the config's vocab_size {vocab} differs from the vkinfer model's {model.vocab_size}")
        self.vkinfer_model = model
        self._epoch = 0

    # No torch parameters live here; generate() asks where inputs should go.
    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def get_input_embeddings(self):
        return None

    def prepare_inputs_for_generation(self, input_ids, past_key_values=None, attention_mask=None, **kwargs):
        if past_key_values is not None:
            input_ids = input_ids[:, past_key_values.seen:]
        return {"input_ids": input_ids, "past_key_values": past_key_values, "attention_mask": attention_mask,
                "use_cache": kwargs.get("use_cache")}

    # These two read or cut the KV tensors themselves (past_key_values as per-layer tensors),
    # which stay on the device here.
    def _contrastive_search(self, *args, **kwargs):
        raise ValueError("contrastive search (penalty_alpha with top_k) is not available through the vkinfer "
                         "adapter: it edits the KV tensors, which stay on the device")

    def _assisted_decoding(self, *args, **kwargs):
        raise ValueError("assisted generation (assistant_model / prompt_lookup_num_tokens) is not available "
                         "through the vkinfer adapter; `vkinfer generate --draft-model` runs speculative decoding")

    def _reorder_cache(self, past_key_values, beam_idx):
        past_key_values.reorder_cache(beam_idx)
        return past_key_values

    def forward(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=None,
                output_attentions=False, output_hidden_states=False, return_dict=True, **kwargs):
        if output_attentions or output_hidden_states:
            raise ValueError("vkinfer returns logits only: output_attentions / output_hidden_states are not available")
        if input_ids is None:
            raise ValueError("vkinfer needs input_ids (inputs_embeds are not supported)")
        ids = np.asarray(input_ids.detach().cpu().numpy() if torch.is_tensor(input_ids) else input_ids, dtype=np.int64)
        if ids.ndim != 2:
            raise ValueError(f"input_ids must be [batch, length], got shape {ids.shape}")
        rows, length = ids.shape
        model = self.vkinfer_model
        if past_key_values is None:
            logits, past_key_values = self._prefill(ids, attention_mask)
        else:
            if not isinstance(past_key_values, VkinferCache) or past_key_values.epoch != self._epoch:
                raise ValueError("past_key_values is not this adapter's current vkinfer cache")
            if rows != len(past_key_values.slots):
                raise ValueError(f"{rows} rows of input_ids for a cache of {len(past_key_values.slots)} rows")
            out = model.forward(ids, slots=past_key_values.slots, all_logits=True,
                                rope_length=_rope_length(attention_mask, ids.shape))
            logits = torch.from_numpy(np.ascontiguousarray(out))
            past_key_values.seen += length
        if not return_dict:
            return (logits, past_key_values)
        return CausalLMOutputWithPast(logits=logits, past_key_values=past_key_values)

    def _prefill(self, ids: np.ndarray, attention_mask):
        """A new sequence per row: real tokens only, each row in its own slot from position 0."""
        model = self.vkinfer_model
        rows, length = ids.shape
        if rows > model.batch:
            raise ValueError(f"{rows} rows but the vkinfer model has {model.batch} KV-cache slots. HINT: load it "
                             f"with batch >= {rows} (x2 for beam search)")
        if attention_mask is None:
            mask = np.ones_like(ids, dtype=bool)
        else:
            mask = np.asarray(attention_mask.detach().cpu().numpy() if torch.is_tensor(attention_mask)
                              else attention_mask) != 0
            if mask.shape != ids.shape:
                raise ValueError(f"attention_mask has shape {mask.shape} but input_ids {ids.shape}")
        real = [ids[b][mask[b]] for b in range(rows)]
        for b, row in enumerate(real):
            if row.size == 0:
                raise ValueError(f"row {b} of attention_mask has no 1: nothing to generate from")
        self._epoch += 1
        model.reset()
        out = model.forward(real, slots=list(range(rows)), positions=[0] * rows, all_logits=True,
                            rope_length=int(mask.sum(axis=1).max()))
        logits = torch.zeros((rows, length, model.vocab_size), dtype=torch.float32)
        for b in range(rows):
            logits[b, torch.from_numpy(np.nonzero(mask[b])[0])] = torch.from_numpy(np.ascontiguousarray(out[b]))
        return logits, VkinferCache(model, list(range(rows)), length, self._epoch)


def _rope_length(attention_mask, shape) -> int:
    """The length transformers' rotary embedding sees in a batched forward (dynamic rope_scaling):
    the longest row's real tokens so far, cached ones included; 0 (each row its own) without a mask."""
    if attention_mask is None:
        return 0
    mask = np.asarray(attention_mask.detach().cpu().numpy() if torch.is_tensor(attention_mask) else attention_mask)
    if mask.ndim != 2 or mask.shape[0] != shape[0]:
        raise ValueError(f"attention_mask has shape {mask.shape} for input_ids of {shape[0]} rows")
    return int((mask != 0).sum(axis=1).max())


def load_adapter(path, **load_kwargs) -> HuggingFaceGenerationModelAdapter:
    """The adapter for a Hugging Face folder: its transformers config and a vkinfer CausalLM
    loaded with `load_kwargs` (dtype, tp, devices, ctx, batch, ...)."""
    from transformers import AutoConfig

    return HuggingFaceGenerationModelAdapter(AutoConfig.from_pretrained(path),
                                             CausalLM.from_pretrained(str(path), **load_kwargs))
