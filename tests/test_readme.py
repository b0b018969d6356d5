"""The README's quick-start commands are the ones CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    return [line for line in lines if line.startswith("python3 -m venv")]


def test_readme_starts_with_demo_and_test_commands():
    demo, tests = _readme_commands()[:2]
    assert demo.endswith("python -m skae")
    assert tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    test_command = _readme_commands()[1]
    # .ci/run makes and activates the venv itself, then runs the rest verbatim.
    install_and_test = test_command.split(" && ", 2)[2]
    assert install_and_test in (ROOT / ".ci" / "run").read_text().splitlines()
