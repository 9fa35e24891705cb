"""Chrono initialisation (rnnkit.nn.chrono): where the biases go for each gated cell, the memory it
buys (gradient reaching the first step), and the refusals."""

import math

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models import SequenceClassifier
from rnnkit.nn import MinRecurrent, Recurrent
from rnnkit.nn.min_rnn import _keep_logit

T_MAX = 200
H = 16


def _in_range(keep_bias: torch.Tensor) -> None:
    """keep bias = log(tau - 1), tau - 1 ~ U(1, T_MAX - 1): the keep gate sigmoid(b) = 1 - 1/tau."""
    assert keep_bias.min() >= 0.0 and keep_bias.max() <= math.log(T_MAX - 1) + 1e-6
    assert keep_bias.std() > 0.5  # spread over the range, not one value


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_forget_bias_drawn_and_input_bias_its_negative(bidirectional):
    torch.manual_seed(0)
    r = Recurrent("lstm", 3, H, num_layers=2, bidirectional=bidirectional, chrono_init=T_MAX)
    for name, p in r.named_parameters():
        if name.startswith("bias_ih"):
            _in_range(p[H:2 * H])
            torch.testing.assert_close(p[:H], -p[H:2 * H])
        elif name.startswith("bias_hh"):
            assert (p[:2 * H] == 0).all(), name


def test_gru_update_gate_bias_drawn():
    torch.manual_seed(0)
    r = Recurrent("gru", 3, H, chrono_init=T_MAX)
    _in_range(r.bias_ih_l0[H:2 * H])
    assert (r.bias_hh_l0[H:2 * H] == 0).all()
    assert r.bias_ih_l0[:H].abs().max() <= 1 / math.sqrt(H)  # reset gate: torch's init


def test_default_init_unchanged_without_chrono():
    torch.manual_seed(0)
    r = Recurrent("lstm", 3, H)
    assert (r.bias_ih_l0[H:2 * H] == 1).all() and (r.bias_hh_l0[H:2 * H] == 0).all()


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_min_cells_keep_gate_follows_chrono(cell):
    torch.manual_seed(0)
    m = MinRecurrent(cell, 3, H, num_layers=2, bidirectional=True, chrono_init=T_MAX)
    for layer in range(2):
        for d in range(2):
            _, b = m.layer_weights(layer, d)
            gates = tuple(b[i * H:(i + 1) * H] for i in range(b.shape[0] // H))
            keep = torch.sigmoid(-_keep_logit(cell, gates))  # the keep gate a at a zero input
            assert keep.min() >= 0.5 - 1e-6 and keep.max() <= 1 - 1 / T_MAX + 1e-6
            _in_range(torch.logit(keep.double()))


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru", "minlstm"])
def test_chrono_carries_the_gradient_back_to_the_first_step(cell):
    """|d h_T / d x_1| over T = 300 steps: vanishes at the default init, survives with chrono."""
    T = 300

    def reach(chrono):
        torch.manual_seed(0)
        layer = (MinRecurrent if cell.startswith("min") else Recurrent)(cell, 2, H, chrono_init=chrono)
        x = torch.rand(4, T, 2, requires_grad=True)
        layer(x)[0][:, -1].sum().backward()
        return float(x.grad[:, 0].abs().max() / x.grad[:, -1].abs().max())

    default, chrono = reach(None), reach(T)
    assert chrono > 1e-3, (default, chrono)
    assert default < 1e-6, (default, chrono)


def test_refusals_name_the_argument():
    with pytest.raises(ConfigError, match="chrono_init sets gate biases, and cell='rnn' has no gate"):
        Recurrent("rnn", 3, 4, chrono_init=10)
    with pytest.raises(ConfigError, match=r"chrono_init must be None or an int >= 2 .*got 1"):
        MinRecurrent("mingru", 3, 4, chrono_init=1)
    with pytest.raises(ConfigError, match="built with bias=False"):
        Recurrent("lstm", 3, 4, bias=False, chrono_init=10)
    with pytest.raises(ConfigError, match=r"SequenceClassifierConfig.chrono_init must be None or an int >= 2.*got 0.5"):
        SequenceClassifier(input_size=2, num_classes=2, chrono_init=0.5)


def test_model_config_passes_chrono_to_the_layer():
    torch.manual_seed(0)
    m = SequenceClassifier(input_size=2, num_classes=2, cell="gru", chrono_init=T_MAX)
    rnn = m.encoder.rnn
    assert rnn.chrono_init == T_MAX
    _in_range(rnn.bias_ih_l0[rnn.hidden_size:2 * rnn.hidden_size])
