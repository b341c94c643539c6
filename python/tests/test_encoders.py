"""vkinfer.Classifier and vkinfer.Embedder against the transformers / sentence-transformers
goldens committed under tests/data/golden (bert.json from tests/golden/make_goldens.py,
embed_st_*.json from tests/golden/make_embed_goldens.py)."""
import numpy as np
import pytest

import vkinfer
from conftest import golden, model_dir


def test_classifier_matches_golden_logits():
    # The text cases, but long_text: its golden was cut at max_length=100, not at the model's length.
    cases = [c for c in golden("bert")["cases"] if c.get("text") and "truncated_to" not in c]
    assert len(cases) == 2
    model = vkinfer.Classifier.from_pretrained(model_dir("bert"))
    for case in cases:
        pairs = [case["text_pair"]] if case.get("text_pair") else None
        result = model.classify([case["text"]], pairs)[0]
        # 1e-4: fp32 encoder of 2 layers, summation order differs from torch's (as the C++ tests).
        np.testing.assert_allclose(result["logits"], case["logits"], atol=1e-4, rtol=1e-4)
        assert result["label_name"] == case["predicted_label"]
        assert result["tokens"] == len(case["input_ids"])


@pytest.mark.parametrize("name", ["st_mean_norm", "st_cls_max"])
def test_embedder_matches_sentence_transformers(name):
    g = golden(f"embed_{name}")
    model = vkinfer.Embedder.from_pretrained(model_dir(name), batch=4)
    got = model.encode([c["text"] for c in g["cases"]])
    assert got.shape == (len(g["cases"]), g["dim"]) and model.dim == g["dim"]
    for row, case in zip(got, g["cases"]):
        expected = np.array(case["embedding"])
        cosine = row @ expected / (np.linalg.norm(row) * np.linalg.norm(expected))
        assert cosine >= 0.99999  # the C++ embed tests' bar: fp32 on both sides
    one = model.encode(g["cases"][0]["text"])
    np.testing.assert_allclose(one, got[0], atol=1e-6)  # a text alone = the same text in a batch


def test_encoder_errors_raise_value_error(tmp_path):
    with pytest.raises(ValueError):
        vkinfer.Embedder.from_pretrained(str(tmp_path))
    with pytest.raises(ValueError):
        vkinfer.Classifier.from_pretrained(str(tmp_path / "none"))
    with pytest.raises(ValueError, match="batch"):
        vkinfer.Embedder.from_pretrained(model_dir("st_mean_norm"), batch=0)
