"""Windows, chronological splits and scalers."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data import MinMaxScaler, StandardScaler, load_scaler, make_windows, split_series, split_sizes
from rnnkit.errors import ConfigError, DataError, ShapeError


def test_windows_values_and_shapes():
    series = np.arange(22, dtype=float).reshape(11, 2)  # row r = [2r, 2r+1]
    x, y = make_windows(series, input_len=3, horizon=2, stride=2, feature_cols=[0], target_cols=[1])
    assert x.shape == (4, 3, 1) and y.shape == (4, 2, 1) and x.dtype == np.float32
    assert x[1, :, 0].tolist() == [4, 6, 8] and y[1, :, 0].tolist() == [11, 13]
    x, y = make_windows(np.arange(7.0), 5, 2)
    assert x.shape == (1, 5, 1) and y[0, :, 0].tolist() == [5, 6]
    with pytest.raises(DataError, match="series has 6 steps; a window needs input_len \\+ horizon = 7"):
        make_windows(np.arange(6.0), 5, 2)
    with pytest.raises(ConfigError, match="stride must be >= 1; got 0"):
        make_windows(series, 3, stride=0)
    with pytest.raises(ConfigError, match=r"target_cols must be column indices in \[0, 2\)"):
        make_windows(series, 3, target_cols=[2])
    with pytest.raises(ShapeError, match=r"series must have shape \(N, F\) or \(N,\); got \(2, 3, 4\)"):
        make_windows(np.zeros((2, 3, 4)), 1)


def test_chronological_split():
    s = np.arange(10)
    a, b, c = split_series(s, [6, 2, 1])
    assert a.tolist() == list(range(6)) and b.tolist() == [6, 7] and c.tolist() == [8]
    assert split_sizes(10, [0.7, 0.1, 0.2]) == [7, 1, 2] and sum(split_sizes(11, [0.7, 0.1, 0.2])) == 11
    with pytest.raises(DataError, match=r"split sizes \[8, 3\] need 11 rows; the series has 10"):
        split_series(s, [8, 3])
    with pytest.raises(ConfigError, match="sum to at most 1"):
        split_sizes(10, [0.9, 0.2])


@pytest.mark.parametrize("make", [StandardScaler, lambda: MinMaxScaler((-1, 1))])
def test_scaler_fit_on_train_only_round_trip_and_json(make, tmp_path):
    rng = np.random.default_rng(0)
    train = rng.normal(3, 2, size=(3, 5, 7))
    test = rng.normal(3, 2, size=(11, 7))
    scaler = make().fit(train)
    z = scaler.transform(train).reshape(-1, 7)
    if isinstance(scaler, StandardScaler):
        np.testing.assert_allclose(z.mean(0), 0, atol=1e-12)
        np.testing.assert_allclose(z.std(0), 1)
    else:
        np.testing.assert_allclose(z.min(0), -1) and np.testing.assert_allclose(z.max(0), 1)
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(test)), test)
    loaded = load_scaler(scaler.save(tmp_path / "scaler.json"))
    assert type(loaded) is type(scaler) and loaded == scaler
    np.testing.assert_allclose(loaded.transform(test), scaler.transform(test))


def test_scaler_edge_cases_and_errors():
    const = np.array([[1.0, 5.0], [3.0, 5.0]])
    assert StandardScaler().fit_transform(const)[:, 1].tolist() == [0, 0]  # constant feature → 0, not NaN
    assert MinMaxScaler().fit_transform(const)[:, 1].tolist() == [0, 0]
    assert StandardScaler().fit(const).transform(np.ones((1, 2), np.float32)).dtype == np.float32
    with pytest.raises(ConfigError, match="StandardScaler is not fitted"):
        StandardScaler().transform(const)
    with pytest.raises(ShapeError, match=r"x must have 2 features in its last axis \(fitted on 2\); got shape \(1, 3\)"):
        StandardScaler().fit(const).transform(np.ones((1, 3)))
    with pytest.raises(DataError, match=r"non-finite value \(nan\) at index \(1, 0\)"):
        StandardScaler().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ConfigError, match="feature_range must be"):
        MinMaxScaler((1, 0))
