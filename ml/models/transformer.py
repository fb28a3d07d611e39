"""Transformer backbone: a small causal encoder built from a Hugging Face config (random init).

``GPT2Model`` is used as a plain stack of causally-masked self-attention blocks fed with our own
event embeddings (``inputs_embeds``): position t attends to events 0..t only, so one forward pass
scores every prefix without peeking at later events. Nothing is ever downloaded from a hub; the
model exists only as a config + the state_dict we save.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from ml.models.sequence import AggEncoder, EventEncoder, SequenceModel, head

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: we never call from_pretrained


def _gpt2(width: int, layers: int, heads: int, dropout: float, positions: int):
    from transformers import GPT2Config, GPT2Model
    from transformers.utils import logging

    logging.set_verbosity_error()
    config = GPT2Config(
        vocab_size=1,  # token ids are never used: inputs arrive as embeddings
        n_positions=positions,
        n_embd=width,
        n_layer=layers,
        n_head=heads,
        n_inner=2 * width,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        bos_token_id=None,
        eos_token_id=None,
        use_cache=False,
    )
    return GPT2Model(config)


class TransformerNet(nn.Module):
    def __init__(self, encoder: EventEncoder, agg_encoder: AggEncoder, width: int, layers: int, heads: int, dropout: float,
                 head_hidden: int, n_next: int, positions: int):
        super().__init__()
        self.encoder = encoder
        self.project = nn.Linear(encoder.out_dim, width)
        self.backbone = _gpt2(width, layers, heads, dropout, positions)
        self.positions = positions
        self.agg_encoder = agg_encoder
        self.head = head(width + agg_encoder.out_dim, head_hidden, dropout)
        self.next_head = nn.Linear(width, n_next)  # auxiliary next-activity task, training only

    def sequence(self, cat: torch.Tensor, num: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if cat.shape[1] > self.positions:
            raise ValueError(f"sequence longer than {self.positions} positions; score the last events only")
        x = self.project(self.encoder(cat, num))
        mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).long()
        return self.backbone(inputs_embeds=x, attention_mask=mask).last_hidden_state

    def score(self, states: torch.Tensor, agg: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([states, self.agg_encoder(agg)], dim=-1)).squeeze(-1)

    def forward(self, cat: torch.Tensor, num: torch.Tensor, agg: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.score(self.sequence(cat, num, lengths), agg)

    def last(self, cat: torch.Tensor, num: torch.Tensor, agg_last: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [batch] of the whole (right-padded) sequences."""
        states = self.sequence(cat, num, lengths)
        final = states[torch.arange(len(lengths)), lengths - 1]
        return self.head(torch.cat([final, self.agg_encoder(agg_last)], dim=-1)).squeeze(-1)


class TransformerModel(SequenceModel):
    backbone = "transformer"
    defaults = {**SequenceModel.common_defaults, "width": 64, "layers": 2, "heads": 4, "positions": 256}

    @property
    def window(self) -> int:  # type: ignore[override]
        return self.params["positions"]

    def build_network(self) -> nn.Module:
        p = self.params
        return TransformerNet(self._new_encoder(), self._new_agg_encoder(), p["width"], p["layers"], p["heads"],
                              p["dropout"], p["head_hidden"], self.n_next, p["positions"])
