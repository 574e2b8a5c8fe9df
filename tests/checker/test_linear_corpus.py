"""Every history of the shared corpus gets its expected verdict (issue 3 acceptance).

The corpus sits beside the repository (../shared/corpus); each MANIFEST.json
gives the model and the expected verdict. The knossos set uses Knossos'
semantics: initial value 0 and a null read means "value unknown".
"""

import json
from pathlib import Path

import pytest

from checker import check_linearizable, read_history

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
OPTIONS = {"porcupine": {}, "knossos": {"initial_value": 0, "null_read": "unknown"}}


def _cases():
    if not CORPUS.is_dir():
        return []
    out = []
    for source in OPTIONS:
        manifest = json.loads((CORPUS / source / "MANIFEST.json").read_text())
        out += [pytest.param(source, e, id=f"{source}/{e['file']}") for e in manifest["files"]]
    return out


CASES = _cases()


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus directory {CORPUS} is absent")
def test_corpus_is_complete():
    assert len(CASES) == 228
    assert {c.values[1]["expected"] for c in CASES} == {"linearizable", "not-linearizable"}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"corpus directory {CORPUS} is absent")
@pytest.mark.parametrize("source,entry", CASES)
def test_expected_verdict(source, entry):
    history = read_history(CORPUS / source / entry["file"])
    result = check_linearizable(history, entry["model"], **OPTIONS[source])
    expected = entry["expected"] == "linearizable"
    assert result["valid"] is expected, result
    assert result["ops"] == entry["operations"]
    assert result["model"] == entry["model"]
    if expected:
        assert result["invalid_keys"] == [] and "counterexample" not in result
    else:
        ce = result["counterexample"]
        assert ce["key"] in result["invalid_keys"]
        assert ce["not_placeable_next"], "an invalid key must show the ops that could not be placed"
