"""Shared fixtures of the Python tests: where the test data, the built module and the `vkinfer`
binary are, and models loaded once per session (loading compiles every kernel, slow on
lavapipe). Run by scripts/test.sh as `pytest python/tests` with PYTHONPATH=<build>/python;
VKINFER_TEST_DATA and VKINFER_BIN override the default locations."""
import json
import os
import pathlib

import pytest

import vkinfer

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(os.environ.get("VKINFER_TEST_DATA", ROOT / "tests" / "data"))


def model_dir(name: str) -> str:
    return str(DATA / "models" / name)


def golden(name: str) -> dict:
    with open(DATA / "golden" / f"{name}.json") as f:
        return json.load(f)


def vkinfer_bin() -> pathlib.Path:
    """The CLI next to the module's build: <build>/python/vkinfer/ -> <build>/vkinfer."""
    if "VKINFER_BIN" in os.environ:
        return pathlib.Path(os.environ["VKINFER_BIN"])
    return pathlib.Path(vkinfer.__file__).resolve().parents[2] / "vkinfer"


@pytest.fixture(scope="session")
def gpt2():
    # 8 slots: a 3-prompt batch, and beam search over 3 beams (2 x 3 slots).
    return vkinfer.CausalLM.from_pretrained(model_dir("gpt2"), batch=8)


@pytest.fixture(scope="session")
def llama():
    return vkinfer.CausalLM.from_pretrained(model_dir("llama"), batch=8)


@pytest.fixture(autouse=True)
def no_validation_messages():
    """As tests/support/test_main.cpp: with VKINFER_VALIDATION=1 (scripts/test.sh sets it) any
    Khronos validation message during a test fails it."""
    before = vkinfer._vkinfer.validation_message_count()
    yield
    assert vkinfer._vkinfer.validation_message_count() == before, "Vulkan validation messages (see stderr)"
