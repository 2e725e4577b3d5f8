"""Policy constants have one home (embryo_gui.policy) and everybody uses the same values."""

import ast
from pathlib import Path

import numpy as np

from embryo_gui import edits, policy
from embryo_gui.app.autoclean import AutocleanPolicy, autoclean_embryo

ROOT = Path(__file__).resolve().parents[1] / "embryo_gui"


def test_kinds_are_spelled_out_only_in_policy():
    """No tuple/list literal anywhere else in the package holds two or more corrupt kinds."""
    corrupt = set(policy.CORRUPT_KINDS)
    bad = []
    for path in ROOT.rglob("*.py"):
        if path.name == "policy.py" or path.parts[-2] == "demo":  # demo truth keys are named after kinds
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                vals = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                if len(vals & corrupt) >= 2:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == []


def test_state_uses_the_fraction_autoclean_ran_with(tiny_project):
    e = tiny_project.embryos[0]            # 30 frames
    e.history.push(edits.SetExcluded((0, 10)))   # a third excluded: under the default 0.4
    assert e.lost_fraction() == 10 / 30
    assert e.unusable_fraction() == policy.UNUSABLE_FRACTION
    assert e.state() != "unusable"
    s = autoclean_embryo(e, AutocleanPolicy(unusable_fraction=0.25))
    assert s["unusable"] and e.state() == "unusable"
    assert e.unusable_fraction() == 0.25
    # the same embryo, judged with the default policy, is usable again
    e.history.undo()
    autoclean_embryo(e, AutocleanPolicy())
    assert e.state() != "unusable" and not e.detections["autoclean"]["unusable"]
    assert np.isclose(e.detections["autoclean"]["lost_fraction"], e.lost_fraction(), atol=1e-4)


def test_autoclean_default_is_the_policy_value():
    assert AutocleanPolicy().unusable_fraction == policy.UNUSABLE_FRACTION
