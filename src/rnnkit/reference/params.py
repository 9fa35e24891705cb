"""Parameter names and layout of the reference layers — exactly torch's.

A stack of ``num_layers`` layers with 1 or 2 directions keeps, per layer k and direction::

    weight_ih_l{k}[_reverse]  (G*H, D_k)     D_0 = input_size, D_k = num_directions*H for k > 0
    weight_hh_l{k}[_reverse]  (G*H, H)
    bias_ih_l{k}[_reverse]    (G*H,)         absent when bias=False
    bias_hh_l{k}[_reverse]    (G*H,)

with G gate blocks stacked along the first axis: 1 for rnn, 4 for lstm (i|f|g|o),
3 for gru (r|z|n). These are the keys and shapes of ``torch.nn.LSTM(...).state_dict()``,
so a state dict converted with ``{k: v.double().numpy() for k, v in sd.items()}`` runs here.
"""

from __future__ import annotations

__all__ = ["GATES", "layer_suffix", "param_names"]

GATES = {"rnn": 1, "lstm": 4, "gru": 3}  # gate blocks stacked in the weights


def layer_suffix(layer: int, direction: int) -> str:
    """``"_l0"``, ``"_l0_reverse"``, ``"_l1"``, ... — torch's suffix for a layer and direction."""
    return f"_l{layer}" + ("_reverse" if direction == 1 else "")


def param_names(num_layers: int = 1, bidirectional: bool = False, bias: bool = True) -> list[str]:
    """Every parameter key, in torch's ``state_dict`` order."""
    kinds = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
    return [
        kind + layer_suffix(layer, direction)
        for layer in range(num_layers)
        for direction in range(2 if bidirectional else 1)
        for kind in kinds
    ]
