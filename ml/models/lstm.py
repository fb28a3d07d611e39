"""LSTM backbone: per-event inputs -> LSTM (packed sequences) -> [state ; prefix aggregates] -> head."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from ml.models.sequence import AggEncoder, EventEncoder, SequenceModel, head


class LSTMNet(nn.Module):
    def __init__(
        self,
        encoder: EventEncoder,
        agg_encoder: AggEncoder,
        hidden: int,
        layers: int,
        dropout: float,
        head_hidden: int,
        n_next: int,
        pool: bool = False,
    ):
        super().__init__()
        self.encoder = encoder
        self.input_dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(encoder.out_dim, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.pool = pool
        if pool:  # causal attention pooling over the states so far, beside the current state
            self.attend = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        width = hidden * (2 if pool else 1)
        self.agg_encoder = agg_encoder
        self.head = head(width + agg_encoder.out_dim, head_hidden, dropout)
        self.next_head = nn.Linear(width, n_next)  # auxiliary next-activity task, training only

    def sequence(self, cat: torch.Tensor, num: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """States [batch, time, hidden]; position t has seen events 0..t only."""
        x = self.input_dropout(self.encoder(cat, num))
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        if not self.pool:
            return out
        # c_t = sum_{s<=t} softmax(e)_s h_s via running sums. The energies are bounded (|e| <= 5) so
        # no max-subtraction is needed: a max over the whole sequence would let later events (and the
        # padding) leak into earlier positions through underflow.
        weight = torch.exp(5.0 * torch.tanh(self.attend(out)))
        pooled = torch.cumsum(weight * out, dim=1) / torch.cumsum(weight, dim=1)
        return torch.cat([out, pooled], dim=-1)

    def score(self, states: torch.Tensor, agg: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([states, self.agg_encoder(agg)], dim=-1)).squeeze(-1)

    def forward(self, cat: torch.Tensor, num: torch.Tensor, agg: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [batch, time]: position t scores the prefix of the first t+1 events."""
        return self.score(self.sequence(cat, num, lengths), agg)

    def last(self, cat: torch.Tensor, num: torch.Tensor, agg_last: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits [batch] of the whole sequences only (production scoring).

        Runs the plain (unpacked) LSTM over the right-padded batch and reads each row's output at
        its last real event: padding only follows the real events, so it cannot reach that output,
        and on CPU the fused unpacked kernel is several times faster than the packed loop. Callers
        batch sequences of similar length, so little is spent on padding.
        """
        if self.pool:
            states = self.sequence(cat, num, lengths)
        else:
            states, _ = self.lstm(self.encoder(cat, num))
        final = states[torch.arange(len(lengths)), lengths - 1]
        return self.head(torch.cat([final, self.agg_encoder(agg_last)], dim=-1)).squeeze(-1)


class LSTMModel(SequenceModel):
    backbone = "lstm"
    defaults = {**SequenceModel.common_defaults, "hidden": 64, "layers": 1, "pool": False}

    def build_network(self) -> nn.Module:
        p = self.params
        return LSTMNet(self._new_encoder(), self._new_agg_encoder(), p["hidden"], p["layers"], p["dropout"], p["head_hidden"],
                      self.n_next, p["pool"])
