"""A mkdocs hook: pages that show what the project's own suite covered, made at build time.

A page holds ``<!-- generated: seed-coverage -->`` or ``<!-- generated: seed-trace -->``
where the coverage of the seed workflow and its traceability matrix go. Both come from
``build/casework-coverage.json``, which ``make test`` writes (the pytest plugin's
``--casework-coverage-json``) in the same CI run that builds the docs, so the pages show
what the suite really covered and cannot drift from it. When the file is missing (the
docs built on their own), the hook runs the suite's kit tests of the seed to make it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from casework_flow import seed
from casework_flow.testing import Coverage, coverage_of, seed_properties, trace

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "build" / "casework-coverage.json"
SEED_TESTS = ["tests/test_testing_kit.py", "tests/test_random_tools.py", "tests/test_explore.py"]
MARKS = ("<!-- generated: seed-coverage -->", "<!-- generated: seed-trace -->")


def _report() -> dict[str, Any]:
    if not REPORT.exists():
        plugin = ["-p", "casework_flow.pytest_plugin", f"--casework-coverage-json={REPORT}"]
        command = [sys.executable, "-m", "pytest", "-q", "-n", "auto", *plugin, *SEED_TESTS]
        subprocess.run(command, cwd=ROOT, check=True)  # noqa: S603 - our own fixed command
    data: dict[str, Any] = json.loads(REPORT.read_text(encoding="utf-8"))
    return data


def on_page_markdown(markdown: str, **_: object) -> str:
    """Put the seed's coverage and matrix where a page asks for them."""
    if not any(mark in markdown for mark in MARKS):
        return markdown
    wf = seed.build_workflow()
    key = f"{wf.name}@{wf.version}"
    data = _report()
    mine = coverage_of(wf, []).fingerprint
    [raw] = [c for c in data["coverage"] if (c["workflow"], c["fingerprint"]) == (key, mine)]
    covered = Coverage.from_dict(raw).markdown()
    matrix = trace(wf, seed_properties(), tested=data["exercised"].get(key, {})).markdown()
    return markdown.replace(MARKS[0], covered).replace(MARKS[1], matrix)
