"""Apps are layers: each imports only from the layers below it (DESIGN.md §2)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["calaim", "members", "community_supports", "care_plans", "referrals", "demo"]


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def test_no_app_imports_from_a_layer_above_it():
    violations = []
    for level, package in enumerate(LAYERS):
        above = set(LAYERS[level + 1 :])
        for path in (ROOT / package).rglob("*.py"):
            for imported in _imports(path):
                if imported in above:
                    violations.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not violations, "\n".join(violations)


def test_the_layer_check_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from referrals.models import Referral\n")
    assert "referrals" in set(_imports(bad))
