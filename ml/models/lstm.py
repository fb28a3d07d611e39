"""LSTM backbone: per-event inputs -> LSTM (packed sequences) -> [state ; prefix aggregates] -> head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ml.models.sequence import EventEncoder, SequenceModel, head


class LSTMNet(nn.Module):
    def __init__(self, encoder: EventEncoder, n_agg: int, hidden: int, layers: int, dropout: float, head_hidden: int):
        super().__init__()
        self.encoder = encoder
        self.input_dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(encoder.out_dim, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.head = head(hidden + n_agg, head_hidden, dropout)

    def forward(self, cat: torch.Tensor, num: torch.Tensor, agg: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [batch, time]: position t scores the prefix of the first t+1 events."""
        x = self.input_dropout(self.encoder(cat, num))
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return self.head(torch.cat([out, agg], dim=-1)).squeeze(-1)

    def forward_last(self, cat: torch.Tensor, num: torch.Tensor, agg_last: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [batch] of the whole sequences only (production scoring): uses h_n, no unpacking."""
        x = self.encoder(cat, num)
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        return self.head(torch.cat([h_n[-1], agg_last], dim=-1)).squeeze(-1)


class LSTMModel(SequenceModel):
    backbone = "lstm"
    defaults = {**SequenceModel.common_defaults, "hidden": 64, "layers": 1}

    def build_network(self) -> nn.Module:
        p = self.params
        return LSTMNet(self._new_encoder(), len(self._agg_index()), p["hidden"], p["layers"], p["dropout"], p["head_hidden"])
