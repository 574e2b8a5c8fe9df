"""Every history of the shared corpus gets its expected verdict (issue 3 acceptance).

The corpus is test data of the repository (tests/data/corpus, sources and
licences in its README); each MANIFEST.json gives the model and the expected
verdict. A missing corpus fails the tests: it is never a reason to skip. The knossos set uses Knossos'
semantics: initial value 0 and a null read means "value unknown".
"""

import json
from pathlib import Path

import pytest

from checker import check_linearizable, read_history

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
OPTIONS = {"porcupine": {}, "knossos": {"initial_value": 0, "null_read": "unknown"}}


def _cases():
    out = []
    for source in OPTIONS:
        path = CORPUS / source / "MANIFEST.json"
        if not path.is_file():   # collected as a failing test below, not skipped
            return [pytest.param(source, {"missing": str(path)}, id=f"{source}/MISSING")]
        manifest = json.loads(path.read_text())
        out += [pytest.param(source, e, id=f"{source}/{e['file']}") for e in manifest["files"]]
    return out


CASES = _cases()


def test_corpus_is_complete():
    assert CORPUS.is_dir(), f"corpus directory {CORPUS} is missing"
    assert len(CASES) == 228
    assert {c.values[1]["expected"] for c in CASES} == {"linearizable", "not-linearizable"}


@pytest.mark.parametrize("source,entry", CASES)
def test_expected_verdict(source, entry):
    assert "missing" not in entry, f"corpus manifest {entry.get('missing')} is missing"
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
