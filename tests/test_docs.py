"""Every code block of the README and of ``docs/`` runs, and the facts they repeat are true.

A fenced block is run according to its language:

* ``python``: executed in a fresh namespace;
* ``bash`` / ``console`` / ``shell``: each command (a ``$ `` line in ``console``) must
  be a ``convfx ...`` line, run through the command line in this process and
  expected to exit 0;
* anything else (``toml``, ``text``, MyST directives) is not code to run.

A block that cannot run here (it installs, trains for long, serves a page, needs a
cluster or a file of the reader's) says so on its first line, visibly on the page:
``# not run by the tests: <reason>``.  Every block runs with a temporary folder as
its working directory, holding a copy of the sample photos at ``samples/``, so a
block written for the repository root runs unchanged and writes nothing there.

The docstring examples of the API reference run here too (doctest), so an example
that the documentation shows cannot go stale.

This is a small extractor rather than pytest-markdown-docs or doctest on the pages:
it runs shell blocks as well as Python, gives every block the same temporary folder
with the samples, and needs no plugin in the test extra.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import convfx

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SAMPLES = ROOT / "samples"
NOT_RUN = "# not run by the tests:"
SHELL = {"bash", "console", "shell", "sh"}
# The modules most users import from: every function and class they export has an
# example in its docstring (the docs build checks Parameters and Returns everywhere).
EXAMPLE_MODULES = ("convfx", "convfx.nn", "convfx.batch", "convfx.compare", "convfx.kernel_classes", "convfx.kernel_sets")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    language: str
    text: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def markdown_pages() -> list[Path]:
    skipped = {"_build", "auto_examples", "generated"}
    pages = [p for p in sorted(DOCS.rglob("*.md")) if not skipped & set(p.relative_to(DOCS).parts)]
    return [ROOT / "README.md", *pages]


def code_blocks(path: Path) -> list[Block]:
    """The fenced blocks of a Markdown file (``` or ~~~, any indentation)."""
    blocks, lines = [], path.read_text(encoding="utf-8").split("\n")
    opening = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w{}-]*)")
    index = 0
    while index < len(lines):
        match = opening.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, language = match.group(1), match.group(2), match.group(3).lower()
        body, start = [], index + 1
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index])
            index += 1
        index += 1
        blocks.append(Block(path, start, language, "\n".join(body)))
    return blocks


BLOCKS = [block for page in markdown_pages() for block in code_blocks(page)]
PYTHON_BLOCKS = [b for b in BLOCKS if b.language == "python"]
SHELL_BLOCKS = [b for b in BLOCKS if b.language in SHELL]


def not_run_reason(block: Block) -> str | None:
    first = block.text.strip().split("\n", 1)[0]
    if not first.startswith(NOT_RUN):
        return None
    reason = first[len(NOT_RUN) :].strip()
    assert reason, f"{block.id}: '{NOT_RUN}' needs a reason after the colon"
    return reason


@pytest.fixture
def sample_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working folder with the sample photos at samples/ (not the README's figures)."""
    (tmp_path / "samples").mkdir()
    for photo in SAMPLES.iterdir():
        if photo.is_file() and photo.suffix.lower() in {".jpg", ".png"}:
            shutil.copy2(photo, tmp_path / "samples" / photo.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return tmp_path


def test_the_pages_have_code_blocks() -> None:
    """The extractor finds the blocks (a broken one would make every test below vacuous)."""
    assert len(PYTHON_BLOCKS) >= 8, [b.id for b in PYTHON_BLOCKS]
    assert len(SHELL_BLOCKS) >= 10, [b.id for b in SHELL_BLOCKS]
    assert any(b.path.name == "README.md" for b in PYTHON_BLOCKS)


@pytest.mark.slow
@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.id)
def test_python_block_runs(block: Block, sample_folder: Path) -> None:
    reason = not_run_reason(block)
    if reason:
        pytest.skip(reason)
    if re.search(r"^\s*(import torch|from torch)", block.text, re.MULTILINE):
        pytest.importorskip("torch")
    code = compile(block.text, str(block.path) + f":{block.line}", "exec")
    exec(code, {"__name__": "__docs__"})  # noqa: S102 - the block is the project's own documentation


def shell_commands(block: Block) -> list[str]:
    """The commands of a shell block: ``$ `` lines of a console session, else every non-comment line."""
    lines = block.text.split("\n")
    if block.language == "console":
        return [line[2:] for line in lines if line.startswith("$ ")]
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.slow
@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.id)
def test_shell_block_runs(block: Block, sample_folder: Path, capsys: pytest.CaptureFixture) -> None:
    from convfx.cli import main

    reason = not_run_reason(block)
    if reason:
        pytest.skip(reason)
    commands = shell_commands(block)
    assert commands, f"{block.id}: no command in the block"
    for command in commands:
        argv = shlex.split(re.sub(r"\s+#.*$", "", command))  # as bash: '#' starts a comment only after a blank
        assert argv[0] == "convfx" and not {"&&", "|", ";", ">"} & set(argv), (
            f"{block.id}: {command!r} is not one convfx command; run it, or mark the block '{NOT_RUN} <reason>'"
        )
        with pytest.raises(SystemExit) as stopped:
            main(argv[1:])
        assert stopped.value.code == 0, f"{block.id}: {command!r} exited {stopped.value.code}: {capsys.readouterr().err}"


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """The README's second Quick-start line is, verbatim, a line of .ci/run."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.split("\n") if line.endswith("pytest -q") and line.startswith("python3 -m venv"))
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").split("\n")
    assert command in ci
    build = "python -m sphinx -W --keep-going -b html docs docs/_build/html"
    assert build in ci and build in readme, "the README and CI build the docs with one command"


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.split("\n")) <= 200
    for link in re.findall(r"\]\(((?:docs|samples)/[^)#]+)", readme):
        assert (ROOT / link).exists(), f"README links to a missing {link}"


def test_the_filter_table_directive_makes_a_table_on_a_markdown_page() -> None:
    """``{convfx-filter-table}`` on a MyST page is a table with one body row per filter and detector.

    The guide's pages are Markdown: a directive that wrote reStructuredText for the
    page's parser to read showed as raw ``.. list-table::`` text there.
    """
    import sys

    myst = pytest.importorskip("myst_parser.parsers.docutils_", reason="the docs extra builds the pages")
    from docutils import nodes
    from docutils.core import publish_doctree
    from docutils.parsers.rst import directives

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        extension = importlib.import_module("convfx_docs")
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    directives.register_directive("convfx-filter-table", extension.FilterTable)
    page = "# Filters\n\n```{convfx-filter-table}\n```\n"
    document = publish_doctree(page, parser=myst.Parser(), settings_overrides={"report_level": 5})

    (table,) = document.findall(nodes.table)
    (head,) = table.findall(nodes.thead)
    (body,) = table.findall(nodes.tbody)
    assert [entry.astext() for entry in head.findall(nodes.entry)][:2] == ["name", "family"]
    first_cells = [row.children[0].astext() for row in body.children]
    from convfx import steps

    expected = [f.name for f in convfx.list_filters()] + [d.name for d in steps.list_detectors()]
    assert sorted(first_cells) == sorted(expected)
    assert "list-table" not in document.astext()


# ----------------------------------------------------------------------------------------- facts


def effect_count() -> int:
    """The rows of ``convfx filters``: the bank filters and the detectors."""
    from convfx import steps

    return len(convfx.list_filters()) + len(steps.list_detectors())


def test_the_command_line_counts_what_convfx_filters_lists(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """`convfx filters` prints every bank filter and detector, and the CLI's hint counts those rows."""
    from convfx import steps
    from convfx.cli import main

    with pytest.raises(SystemExit):
        main(["filters"])
    table = capsys.readouterr().out
    names = [f.name for f in convfx.list_filters()] + [d.name for d in steps.list_detectors()]
    missing = [name for name in names if not re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", table)]
    assert not missing and len(names) == effect_count()
    with pytest.raises(SystemExit):
        main(["apply", "sobelx", str(SAMPLES / "camera.png"), "-o", str(tmp_path / "unused.png")])
    message = capsys.readouterr().err
    assert f"lists all {effect_count()})" in message, message


def test_get_filter_counts_what_list_filters_returns() -> None:
    with pytest.raises(convfx.UnknownFilterError) as error:
        convfx.get_filter("sobelx")
    counts = [int(n) for n in re.findall(r"lists all (\d+)", str(error.value))]
    assert counts == [len(convfx.list_filters())], str(error.value)


NUMBER_OF_FILTERS = re.compile(r"\b(\d+)\s+(bank\s+|named\s+|shipped\s+)?filters\b|lists all (\d+)")


def check_filter_counts(text: str, where: str) -> None:
    """Every "N filters" / "lists all N" in ``text`` is the registry's count.

    ``convfx filters`` lists the bank filters and the detectors; "N bank filters" counts
    the bank alone (``len(convfx.list_filters())``).
    """
    for match in NUMBER_OF_FILTERS.finditer(text):
        number = int(match.group(1) or match.group(3))
        expected = len(convfx.list_filters()) if (match.group(2) or "").strip() == "bank" else effect_count()
        assert number == expected, f"{where}: {match.group(0)!r}, but the registry has {expected}"


@pytest.mark.parametrize(
    "page",
    [*markdown_pages(), *sorted(DOCS.glob("*.rst")), *sorted((DOCS / "api").glob("*.rst"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_filter_count_on_a_page_is_the_registry_s(page: Path) -> None:
    """The docs print counts with {convfx-count}; a number typed by hand must still be right."""
    check_filter_counts(page.read_text(encoding="utf-8"), page.name)


def test_every_filter_count_in_the_help_is_the_registry_s() -> None:
    import typer.main

    from convfx.cli import app

    def helps(command, path):
        yield path, " ".join(filter(None, [command.help, *(getattr(p, "help", None) or "" for p in command.params)]))
        for name, sub in getattr(command, "commands", {}).items():
            yield from helps(sub, f"{path} {name}")

    texts = list(helps(typer.main.get_command(app), "convfx"))
    assert len(texts) > 10
    for path, text in texts:
        check_filter_counts(text, f"{path} --help")


def test_the_count_checker_catches_a_wrong_count() -> None:
    with pytest.raises(AssertionError):
        check_filter_counts(f"convfx filters lists {effect_count() + 2} filters", "example")
    check_filter_counts(f"{effect_count()} filters, {len(convfx.list_filters())} bank filters", "example")


# ------------------------------------------------------------------------------ docstring examples


def public_modules() -> list[str]:
    """Every convfx module with an ``__all__`` but the command line's (the CLI page documents it)."""
    import pkgutil

    found = ["convfx", *sorted(info.name for info in pkgutil.walk_packages(convfx.__path__, "convfx."))]
    public = []
    for name in found:
        if name == "convfx.__main__" or name == "convfx.cli" or name.startswith("convfx.cli."):
            continue
        if hasattr(importlib.import_module(name), "__all__"):
            public.append(name)
    return public


PUBLIC_MODULES = public_modules()


def public_objects(modules) -> list[tuple[str, object]]:
    """The functions and classes of ``modules``' ``__all__``, each once, under its first name."""
    found: dict[int, tuple[str, object]] = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value) or inspect.isclass(value):
                found.setdefault(id(value), (f"{module_name}.{name}", value))
    return sorted(found.values(), key=lambda item: item[0])


DOCUMENTED = public_objects(PUBLIC_MODULES)


def docstring_examples(name: str, value: object) -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(recurse=False)
    module = importlib.import_module(value.__module__)  # as doctest-modules: the defining module's names
    return [test for test in finder.find(value, name, globs=dict(vars(module))) if test.examples]


WITH_EXAMPLES = [(name, value) for name, value in DOCUMENTED if docstring_examples(name, value)]


def test_every_name_users_import_has_an_example():
    with_examples = {id(value) for _, value in WITH_EXAMPLES}
    missing = [name for name, value in public_objects(EXAMPLE_MODULES) if id(value) not in with_examples]
    assert not missing, f"names users import without an example in their docstring: {missing}"


@pytest.mark.parametrize("name, value", WITH_EXAMPLES, ids=[name for name, _ in WITH_EXAMPLES])
def test_docstring_example_runs(name: str, value: object, sample_folder: Path) -> None:
    tests = docstring_examples(name, value)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (see the output above)"


# ------------------------------------------------------------------------------ the API reference


def api_names() -> set[str]:
    """The qualified names the autosummary tables of docs/api/*.rst list."""
    names: set[str] = set()
    for page in sorted((DOCS / "api").glob("*.rst")):
        module, in_table = "", False
        for line in page.read_text(encoding="utf-8").split("\n"):
            if line.startswith(".. currentmodule::"):
                module, in_table = line.split("::", 1)[1].strip(), False
            elif line.startswith(".. autosummary::"):
                in_table = True
            elif in_table and re.fullmatch(r"   [\w.]+", line):
                names.add(f"{module}.{line.strip()}")
            elif in_table and line and not line.startswith(" "):
                in_table = False
    return names


def resolve(qualified: str) -> object:
    parts = qualified.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for part in parts[cut:]:
            value = getattr(value, part)
        return value
    raise ImportError(qualified)


API_NAMES = api_names()


def test_the_api_pages_list_names() -> None:
    """The reader of the pages finds the tables (else the test below would be vacuous)."""
    assert {"convfx.correlate", "convfx.nn.Conv2d", "convfx.conv.choose_backend", "convfx.batch.run_batch"} <= API_NAMES
    assert len(API_NAMES) > 300


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_in_the_api_reference(module_name: str) -> None:
    """Each name of a module's ``__all__`` is in docs/api/, under its own module or where it is re-exported.

    A re-exported name counts when a table lists the same object under the same
    name (``convfx.conv.correlate`` is documented as ``convfx.correlate``).
    """
    module = importlib.import_module(module_name)
    by_name: dict[str, list[str]] = {}
    for qualified in API_NAMES:
        by_name.setdefault(qualified.rsplit(".", 1)[1], []).append(qualified)
    missing = []
    for name in module.__all__:
        if name == "__version__" or f"{module_name}.{name}" in API_NAMES:
            continue
        value = getattr(module, name)
        if not any(resolve(qualified) is value for qualified in by_name.get(name, [])):
            missing.append(name)
    assert not missing, f"{module_name}: add {missing} to a table of docs/api/ (see docs/api/index.rst)"


def test_every_api_name_exists() -> None:
    for qualified in sorted(API_NAMES):
        resolve(qualified)


def test_the_docs_extra_installs_the_builders() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", item, maxsplit=1)[0] for item in extras["docs"]}
    assert {"sphinx", "numpydoc", "pydata-sphinx-theme", "myst-parser", "sphinx-gallery", "sphinxcontrib-typer"} <= names
    assert os.path.exists(DOCS / "conf.py")


# ------------------------------------------------------------------------------------ benchmarks


def benchmark_options(script: Path) -> set[str]:
    """The ``--options`` a benchmark script's argparse accepts (read from its source, not run)."""
    return set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", script.read_text(encoding="utf-8")))


BENCHMARK_LINE = re.compile(r"benchmarks/(\w+\.py)(.*)")


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_benchmark_a_page_names_exists_with_its_options(page: Path) -> None:
    """A benchmark command on a page names a script in benchmarks/ and only options its argparse has."""
    if {"_build", "auto_examples", "generated"} & set(page.parts):
        pytest.skip("a built page")
    for line in page.read_text(encoding="utf-8").split("\n"):
        for script, rest in BENCHMARK_LINE.findall(line):
            path = ROOT / "benchmarks" / script
            assert path.is_file(), f"{page.name}: {script} is not in benchmarks/"
            unknown = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", rest)) - benchmark_options(path)
            assert not unknown, f"{page.name}: {script} has no option {sorted(unknown)}: {line.strip()}"


def test_the_benchmark_option_reader_reads_argparse() -> None:
    assert {"--rounds", "--size", "--budget", "--effects"} <= benchmark_options(ROOT / "benchmarks" / "bench_memory.py")
