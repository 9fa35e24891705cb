import pytest

pytest.importorskip("onnxruntime", reason="the export extra (pip install 'rnnkit[export]') is not installed")
pytest.importorskip("onnxscript", reason="the export extra (pip install 'rnnkit[export]') is not installed")
