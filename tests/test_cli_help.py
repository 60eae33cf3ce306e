"""The command line's help and usage errors, for every command at once.

Every command of the typer app is found by walking its click command, so a new
command is checked without being listed here: its help is free of Python type
names, every option and argument is described, its examples read like the
others', the defaults it shows are the library's, and the lists it shows
(choices, shipped models, filter families) are the library's.  Usage errors are
one ``convfx: error:`` line with exit code 2.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re

import pytest
from rich.cells import cell_len
from typer.main import get_command
from typer.testing import CliRunner

import convfx
from convfx import banks, batch, compare, edges, explain, render, steps
from convfx.cli import app
from convfx.conv import BOUNDARIES
from convfx.models import DEFAULT_MODEL, SHIPPED_MODELS
from convfx.nn import config as nn_config
from convfx.nn.data import DATASET_NAMES
from convfx.ranges import OUTPUT_RANGES

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def _walk(command, path: tuple[str, ...] = ()):
    commands = getattr(command, "commands", None)
    if commands is None:
        yield path, command
        return
    yield path, command  # a group has a help page too
    for name, sub in sorted(commands.items()):
        yield from _walk(sub, (*path, name))


ROOT = get_command(app)
COMMANDS = {" ".join(path): command for path, command in _walk(ROOT)}
LEAVES = {name: command for name, command in COMMANDS.items() if not hasattr(command, "commands")}


def _context(command, name: str):
    return command.make_context(name or "convfx", [], resilient_parsing=True)


def _params(name: str):
    """(param, its help record) of every option and argument of a command, --help included."""
    command = COMMANDS[name]
    context = _context(command, name)
    return [(param, param.get_help_record(context)) for param in command.get_params(context)]


def _option(name: str, option: str):
    """The help record of one option (by its Python name) of a command."""
    for param, record in _params(name):
        if param.name == option:
            return param, record
    raise KeyError(option)


def test_every_command_is_found():
    expected = {
        "apply",
        "batch",
        "filters",
        "show",
        "train",
        "evaluate",
        "compare",
        "export-bank",
        "summary",
        "tour",
        "studio",
        "explain canny",
        "explain conv",
        "explain pool",
    }
    assert set(LEAVES) == expected


# --------------------------------------------------------------------------- help pages

PYTHON_WORDS = ["<str>", "<int>", "<bool>", "<path>", "list[", "<float>", "range>", "x>=", "x<=", "<=x", "Optional", "NoneType"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_shows_plain_words_never_python_types(name):
    result = run(*name.split(), "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: convfx" in result.output
    for word in PYTHON_WORDS:
        assert word not in result.output, (name, word)
    assert "{" not in result.output.splitlines()[1]  # the usage line: EFFECT, not {EFFECT}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_and_argument_is_described(name):
    for param, record in _params(name):
        description = (param.help or "").strip()
        assert description, f"convfx {name}: {param.name} has no description"
        assert record is not None


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_option_that_takes_a_value_shows_a_plain_word(name):
    command = COMMANDS[name]
    context = _context(command, name)
    for param in command.get_params(context):
        word = param.display_type_rich(context)
        if param.param_type_name == "argument" or getattr(param, "is_flag", False):
            assert word is None, (name, param.name, word)
            continue
        # One upper-case word (FILE, N, SIZE, OUTDIR) or the choices, lower-case, separated by |.
        assert re.fullmatch(r"[A-Z]+|[a-z0-9_-]+(\|\n?[a-z0-9_-]+)+", word), (name, param.name, word)


@pytest.mark.parametrize(
    ("name", "usage"),
    [
        ("apply", "convfx apply [OPTIONS] EFFECT INPUT"),
        ("batch", "convfx batch [OPTIONS] EFFECT INPUTS..."),
        ("show", "convfx show [OPTIONS] NAME"),
        ("compare", "convfx compare [OPTIONS] [MODEL]"),
        ("export-bank", "convfx export-bank [OPTIONS] MODEL"),
        ("evaluate", "convfx evaluate [OPTIONS] MODEL"),
        ("summary", "convfx summary [OPTIONS] [MODEL]"),
        ("tour", "convfx tour [OPTIONS] [MODEL]"),
        ("studio", "convfx studio [OPTIONS] [IMAGE]"),
        ("explain canny", "convfx explain canny [OPTIONS] INPUT"),
        ("explain conv", "convfx explain conv [OPTIONS]"),
        ("train", "convfx train [OPTIONS]"),
    ],
)
def test_usage_line_matches_the_arity(name, usage):
    lines = [line.strip() for line in run(*name.split(), "--help").output.splitlines() if line.strip()]
    assert lines[0] == f"Usage: {usage}"


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_examples_are_written_one_way(name):
    """An "Examples:" paragraph, then each example on its own line, indented by 4, starting with the command."""
    lines = run(*name.split(), "--help").output.splitlines()
    start = [index for index, line in enumerate(lines) if line.strip() == "Examples:"]
    assert len(start) == 1, f"convfx {name}: no 'Examples:' paragraph"
    heading = lines[start[0]]
    margin = len(heading) - len(heading.lstrip())
    examples = []
    for line in lines[start[0] + 1 :]:
        if line.lstrip().startswith(("╭", "Arguments", "Options")):
            break
        if line.strip():
            examples.append(line)
    assert examples, name
    for line in examples:
        assert line.startswith(" " * (margin + 4)) and not line.startswith(" " * (margin + 5)), (name, line)
        text = line.strip()
        assert "convfx" in text.split("#")[0], (name, line)
        # 80 columns less rich's margin each side and the 4 of the indent.
        assert len(text) <= 74, f"convfx {name}: an example wider than an 80-column terminal: {text}"
        # A note after an example is a shell comment, so the line still runs as written.
        assert "     (" not in line, (name, line)


# --------------------------------------------------------------------------- --version


def test_version_prints_the_installed_version():
    result = run("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"convfx {importlib.metadata.version('convfx')}"
    assert convfx.__version__ == importlib.metadata.version("convfx")


# --------------------------------------------------------------------------- usage errors in one line


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["apply"], ["EFFECT: missing", "usage: convfx apply [OPTIONS] EFFECT INPUT"]),
        (["apply", "sobel"], ["INPUT: missing"]),
        (["apply", "sobel", "a.png", "b.png"], ["unexpected extra argument", "b.png", "EFFECT INPUT"]),
        (["apply", "--nope", "sobel", "a.png"], ["--nope: no such option", "convfx apply --help"]),
        (
            ["apply", "sobel", "a.png", "--range", "foo"],
            ["--range: invalid value 'foo'; expected one of " + ", ".join(OUTPUT_RANGES)],
        ),
        (
            ["apply", "sobel", "a.png", "--boundary", "mirror"],
            ["--boundary: invalid value 'mirror'", "one of " + ", ".join(BOUNDARIES)],
        ),
        (["apply", "sobel", "a.png", "--max-pixels", "0"], ["--max-pixels: expected an int >= 1, found '0'"]),
        (["apply", "sobel", "a.png", "--max-pixels", "many"], ["--max-pixels: expected an int >= 1, found 'many'"]),
        (["apply", "sobel", "a.png", "--memory-budget", "lots"], ["--memory-budget: ", "'lots'"]),
        (["batch", "sobel", "photos"], ["--output: missing"]),
        (["batch", "sobel", "photos", "-o", "out", "--workers", "0"], ["--workers: expected an int >= 1, found '0'"]),
        (["filters", "--family", "nosuch"], ["--family: invalid value 'nosuch'"]),
        (["train", "--optimizer", "rmsprop"], ["--optimizer: invalid value 'rmsprop'; expected one of sgd, adam"]),
        (["train", "--shift", "9"], ["--shift: expected an int in 0..8, found '9'"]),
        (["train", "--batch-size", "-1"], ["--batch-size: expected an int >= 1, found '-1'"]),
        (["train", "--lr", "fast"], ["--lr: expected a number >= 0, found 'fast'"]),
        (["train", "--dataset", "/no/such/data"], ["--dataset: no such data set '/no/such/data'"]),
        (["explain", "pool", "--mode", "median"], ["--mode: invalid value 'median'; expected one of max, avg"]),
        (["explain", "conv", "--size", "99"], ["--size: ", "99"]),
        (["explain", "conv", "--size"], ["--size: requires an argument"]),
        (
            ["explain", "canny", "x.png", "--mode", "hsv"],
            ["--mode: invalid value 'hsv'", "one of " + ", ".join(edges.CANNY_MODES)],
        ),
        (["show", "sobel", "--scale", "loud"], ["--scale: invalid value 'loud'; expected one of shared, per-kernel"]),
        (["compare", "--draws", "1"], ["--draws: expected an int >= 2, found '1'"]),
        (["studio", "--port", "70000"], ["--port: expected an int in 0..65535, found '70000'"]),
        (["nosuch"], ["no such command 'nosuch'"]),
        (["explain", "nosuch"], ["no such command 'nosuch'", "convfx explain --help"]),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, arguments, words):
    monkeypatch.chdir(tmp_path)
    result = run(*arguments)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("convfx: error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    for noise in ("Usage:", "Try '", "╭", "Traceback"):
        assert noise not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_messages_name_options_not_python_keywords(tmp_path, monkeypatch):
    """Library errors reach the command line with the option's spelling."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.png").write_bytes(b"")
    cases = [
        (["apply", "sobel", "a.png", "--memory-budget", "0"], "--memory-budget", "memory_budget"),
        (["apply", "gaussian_blur", "a.png", "--range", "binary"], "--range", "output_range"),
        (["train", "--seed", "99999999999999999999"], "--seed", "seed"),
        (["explain", "conv", "--padding", "5", "--kernel", "3"], "--padding", "padding"),
        (["explain", "conv", "--channels", "9"], "--channels", "channels"),
    ]
    for arguments, option, keyword in cases:
        result = run(*arguments)
        assert result.exit_code == 2, (arguments, result.output)
        line = result.stderr.strip()
        assert line.startswith(f"convfx: error: {option}"), line
        assert re.search(rf"(?<!-){keyword}", line) is None, line  # --seed:, never seed:


def test_an_existing_output_names_force_not_overwrite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pool.gif").write_bytes(b"keep")
    result = run("explain", "pool", "--size", "4")
    assert result.exit_code == 1
    assert "--force" in result.stderr and "overwrite=" not in result.stderr
    assert (tmp_path / "pool.gif").read_bytes() == b"keep"


def test_no_arguments_shows_the_help():
    result = run()
    assert "Usage: convfx" in result.output and "apply" in result.output


# --------------------------------------------------------------------------- defaults: the library's


def _signature_default(function, name):
    return inspect.signature(function).parameters[name].default


def _studio_default(name):
    from convfx.studio.server import serve
    from convfx.studio.workbench import Workbench

    return {
        "port": _signature_default(serve, "port"),
        "browser": _signature_default(serve, "open_browser"),
        "host": _signature_default(serve, "host"),
        "max_pixels": _signature_default(Workbench, "max_pixels"),
        "max_upload_mb": _signature_default(Workbench, "max_upload_bytes") / 2**20,
    }[name]


def _plots_default(function_name, name):
    from convfx import plots

    return _signature_default(getattr(plots, function_name), name)


_TRAIN = nn_config.TrainConfig()

#: Every default the help shows, and where the library keeps it.
LIBRARY_DEFAULTS = {
    ("apply", "boundary"): lambda: _signature_default(render.render_file, "boundary"),
    ("apply", "max_pixels"): lambda: _signature_default(render.render_file, "max_pixels"),
    ("apply", "memory_budget"): lambda: batch.format_byte_size(_signature_default(render.render_file, "memory_budget")),
    ("batch", "boundary"): lambda: _signature_default(batch.run_batch, "boundary"),
    ("batch", "max_pixels"): lambda: _signature_default(batch.run_batch, "max_pixels"),
    ("batch", "memory_budget"): lambda: batch.format_byte_size(_signature_default(batch.run_batch, "memory_budget")),
    ("show", "scale"): lambda: _plots_default("save_kernel_plot", "scale"),
    ("compare", "draws"): lambda: _signature_default(compare.compare_model, "draws"),
    ("compare", "scale"): lambda: _plots_default("save_compare_figures", "scale"),
    ("export-bank", "prefix"): lambda: _signature_default(compare.export_bank, "prefix"),
    ("tour", "max_pixels"): lambda: _signature_default(convfx.nn.inspect.tour_file, "max_pixels"),
    ("train", "dataset"): lambda: nn_config.DEFAULT_DATASET,
    **{
        ("train", field): (lambda field=field: getattr(_TRAIN, field))
        for field in ("batch_size", "optimizer", "schedule", "shift", "activation", "pooling", "seed", "workers")
    },
    **{
        ("studio", name): (lambda name=name: _studio_default(name))
        for name in ("port", "host", "browser", "max_pixels", "max_upload_mb")
    },
    **{
        ("explain canny", name): (lambda name=name: _signature_default(edges.canny, name))
        for name in ("sigma", "quantile", "mode", "boundary")
    },
    ("explain canny", "max_pixels"): lambda: _plots_default("save_canny_stages", "max_pixels"),
    **{
        ("explain conv", name): (lambda name=name: _signature_default(explain.explain_conv, name))
        for name in ("size", "kernel", "stride", "padding", "flip", "seed")
    },
    **{
        ("explain pool", name): (lambda name=name: _signature_default(explain.explain_pool, name))
        for name in ("mode", "size", "kernel", "seed")
    },
    ("explain conv", "milliseconds"): lambda: _plots_default("save_explanation", "milliseconds"),
    ("explain pool", "milliseconds"): lambda: _plots_default("save_explanation", "milliseconds"),
}
#: Defaults that are the command line's own: the names of the files it writes.
CLI_DEFAULTS = {
    ("train", "output"): "model.npz",
    ("export-bank", "output"): "learned.toml",
    ("tour", "output"): "tour.png",
    ("explain conv", "output"): "conv.gif",
    ("explain pool", "output"): "pool.gif",
}


def _shown_default(record) -> str | None:
    found = re.search(r"\[default: ([^\]]*)\]", record[1])
    return None if found is None else found.group(1)


def _as_shown(value) -> str:
    return str(value)


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_defaults_in_help_are_the_librarys(name):
    for param, record in _params(name):
        shown = _shown_default(record)
        key = (name, param.name)
        value = getattr(param.default, "value", param.default)
        if key in LIBRARY_DEFAULTS:
            expected = LIBRARY_DEFAULTS[key]()
            assert value == expected, (key, value, expected)
            if shown is not None and not getattr(param, "is_flag", False):
                assert shown == _as_shown(expected), (key, shown, expected)
        elif key in CLI_DEFAULTS:
            assert str(value) == CLI_DEFAULTS[key] and shown == CLI_DEFAULTS[key]
        else:
            # Not shown, and passed on as "not given" (or a flag that is off): the library decides.
            assert shown is None or getattr(param, "is_flag", False), f"convfx {name} {param.name}: default {shown} from where?"
            assert value in (None, False, ()), (key, value)


def test_every_listed_library_default_belongs_to_a_real_option():
    for name, option in [*LIBRARY_DEFAULTS, *CLI_DEFAULTS]:
        _option(name, option)


@pytest.mark.parametrize(
    ("name", "option", "words"),
    [
        ("explain canny", "low", [f"Default: {edges.CANNY_THRESHOLDS[0]:g} ({edges.CANNY_QUANTILES[0]:g} with --quantile)"]),
        ("explain canny", "high", [f"Default: {edges.CANNY_THRESHOLDS[1]:g} ({edges.CANNY_QUANTILES[1]:g} with --quantile)"]),
        (
            "explain conv",
            "channels",
            [f"Default with --filters: {_signature_default(explain.explain_volume, 'channels')}", f"1..{explain.MAX_CHANNELS}"],
        ),
        (
            "explain conv",
            "filters",
            [f"Default with --channels: {_signature_default(explain.explain_volume, 'filters')}", f"1..{explain.MAX_FILTERS}"],
        ),
        ("explain conv", "size", [f"1..{explain.MAX_SIZE}", f"{explain.PIXEL_VALUES[0]}..{explain.PIXEL_VALUES[1] - 1}"]),
        (
            "train",
            "epochs",
            [f"Default: {_TRAIN.epochs}"]
            + [f"{settings['epochs']} for {name}" for name, settings in nn_config.DATASET_DEFAULTS.items() if name == "photos"],
        ),
        ("train", "lr", [f"{rate:g} for {name}" for name, rate in nn_config.DEFAULT_LR.items()]),
        ("train", "weight_decay", [f"Default: {_TRAIN.weight_decay:g}"]),
        ("train", "optimizer", [f"momentum {_TRAIN.momentum:g}"]),
        ("compare", "model", [f"Default: the shipped {DEFAULT_MODEL} model"]),
        ("summary", "model_path", [f"Default: the shipped {DEFAULT_MODEL} model"]),
    ],
)
def test_defaults_written_in_words_are_the_librarys(name, option, words):
    _, record = _option(name, option)
    for word in words:
        assert word in record[1], (name, option, word, record[1])


def test_canny_defaults_are_not_quoted_from_an_example():
    """The canny help says the detector's own defaults; its example values are marked as an example."""
    _, sigma = _option("explain canny", "sigma")
    assert f"[default: {_signature_default(edges.canny, 'sigma')}]" in sigma[1]
    page = run("explain", "canny", "--help").output
    assert "same defaults" in " ".join(page.split())  # the paragraph wraps where the terminal ends


# --------------------------------------------------------------------------- lists from the library


def _choices_shown(name: str, option: str) -> list[str]:
    param, record = _option(name, option)
    return record[0].split(" ", 1)[1].replace("\n", "").split("|")


@pytest.mark.parametrize(
    ("name", "option", "expected"),
    [
        ("apply", "boundary", BOUNDARIES),
        ("apply", "output_range", OUTPUT_RANGES),
        ("batch", "boundary", BOUNDARIES),
        ("batch", "output_range", OUTPUT_RANGES),
        ("explain canny", "mode", edges.CANNY_MODES),
        ("explain canny", "boundary", BOUNDARIES),
        ("explain pool", "mode", explain.POOL_MODES),
        ("train", "optimizer", nn_config.OPTIMIZERS),
        ("train", "schedule", nn_config.SCHEDULES),
        ("train", "activation", nn_config.ACTIVATIONS),
        ("train", "pooling", nn_config.POOLINGS),
    ],
)
def test_choices_are_the_librarys(name, option, expected):
    assert _choices_shown(name, option) == list(expected)


def test_kernel_scales_are_the_plots():
    from convfx import plots

    assert _choices_shown("show", "scale") == list(plots.KERNEL_SCALES)
    assert _choices_shown("compare", "scale") == list(plots.KERNEL_SCALES)


def test_filter_families_and_names_are_the_registrys():
    items = [*banks.list_filters(), *steps.list_detectors()]
    assert _choices_shown("filters", "family") == sorted({item.family for item in items})
    listing = run("filters").stdout
    rows = {line.split("│")[1].strip() for line in listing.splitlines() if line.startswith("│") and line.split("│")[1].strip()}
    assert rows - {"name"} == {item.name for item in items}
    # The count an unknown name quotes is the count `convfx filters` lists.
    unknown = run("apply", "sobell", "photo.png").stderr
    assert f"`convfx filters` lists all {len(items)})" in unknown


@pytest.mark.parametrize(
    ("name", "option"),
    [
        ("compare", "model"),
        ("export-bank", "model"),
        ("evaluate", "model_path"),
        ("summary", "model_path"),
        ("tour", "model_path"),
    ],
)
def test_shipped_models_are_the_librarys(name, option):
    _, record = _option(name, option)
    quoted = re.findall(r"'([a-z-]+)'", record[1])
    assert [word for word in quoted if word in SHIPPED_MODELS] == list(SHIPPED_MODELS)


def test_export_bank_does_not_claim_a_default_model():
    _, record = _option("export-bank", "model")
    assert "Default" not in record[1] and "[required]" in record[1]


@pytest.mark.parametrize("name", ["train", "evaluate"])
def test_every_data_set_name_is_described(name):
    _, record = _option(name, "dataset")
    for dataset in DATASET_NAMES:
        assert f"'{dataset}'" in record[1], dataset


# --------------------------------------------------------------------------- the help at any width


def _help_at(name: str, columns: int, option: str = "--help"):
    result = runner.invoke(app, [*name.split(), option], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def _written_examples(command) -> list[str]:
    """The example lines of a command's docstring, as written (indented in its help)."""
    return [line.strip() for line in (command.help or "").splitlines() if line.startswith("    ") and line.strip()]


def _prose_lines(page: str) -> list[list[str]]:
    """The paragraphs of a help page's description (after the usage line, before the examples and panels)."""
    lines = page.splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip().startswith("Usage:")) + 1
    while lines[start].strip():  # the usage line may wrap
        start += 1
    paragraphs: list[list[str]] = [[]]
    for line in lines[start:]:
        text = line.strip()
        if text in ("Examples:", "Arguments:", "Options:", "Commands:") or text.startswith("╭"):
            break
        if text:
            paragraphs[-1].append(text)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [paragraph for paragraph in paragraphs if paragraph]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_reads_cleanly_at_80_columns(name):
    page = _help_at(name, 80)
    lines = page.splitlines()
    for line in lines:
        assert cell_len(line) <= 80, f"convfx {name}: a line wider than 80 columns: {line!r}"
    assert "…" not in page, f"convfx {name}: a word cut to fit"
    for example in _written_examples(COMMANDS[name]):
        assert any(example in line for line in lines), f"convfx {name}: an example broken at 80 columns: {example}"
    # A paragraph re-flows: each of its lines ends only where the next word would not fit
    # (78 columns: rich keeps one blank column each side).
    for paragraph in _prose_lines(page):
        for line, following in zip(paragraph, paragraph[1:]):
            assert len(line) + 1 + len(following.split()[0]) > 78, f"convfx {name}: a hard line break kept: {line!r}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_is_readable_at_40_columns(name):
    """Nothing cut, nothing wider than the terminal, every option and every word of its description there."""
    page = _help_at(name, 40)
    for line in page.splitlines():
        assert cell_len(line) <= 40, f"convfx {name}: a line wider than 40 columns: {line!r}"
    assert "…" not in page, f"convfx {name}: a word cut to fit"
    assert page.lstrip().startswith("Usage: convfx")
    squeezed = re.sub(r"\s+", "", page)
    for param, _record in _params(name):
        for option in (*param.opts, *param.secondary_opts):
            argument = param.param_type_name == "argument"
            word = (param.metavar or "").strip("[]").rstrip(".")  # INPUTS... and [IMAGE] are INPUTS and IMAGE
            spelt = rf"\[?{word}\]?" if argument else re.escape(option)
            # On a line of its own, or after the option's other spelling ("-o, --output FILE").
            assert re.search(rf"^ *(\S+(, | / ))?{spelt}( |,|$)", page, re.MULTILINE), (name, spelt)
        description = (param.help or "").replace("\\[", "[")  # rich's escape, a plain "[" on the page
        assert re.sub(r"\s+", "", description) in squeezed, (name, param.name)


def test_a_narrow_help_lists_each_command_with_its_whole_first_sentence():
    page = _help_at("", 40)
    squeezed = re.sub(r"\s+", "", page)
    for name, command in ROOT.commands.items():
        assert re.search(rf"^  {re.escape(name)}$", page, re.MULTILINE), name
        assert re.sub(r"\s+", "", command.get_short_help_str(limit=1000)) in squeezed, name


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_h_is_help(name):
    page = _help_at(name, 100, "-h")
    assert page == _help_at(name, 100, "--help")
    (line,) = [line for line in page.splitlines() if "--help" in line.split()]
    assert "-h" in line.split(), line  # the help option's row names both


def test_no_command_takes_h_for_anything_else():
    for name, command in COMMANDS.items():
        for param in command.params:
            assert "-h" not in (*param.opts, *param.secondary_opts), (name, param.name)


@pytest.mark.parametrize(
    ("arguments", "choices"),
    [
        (["apply", "sobel", "x.jpg", "--boundary", "foo"], BOUNDARIES),
        (["train", "--optimizer", "rmsprop"], nn_config.OPTIMIZERS),
        (["explain", "pool", "--mode", "median"], explain.POOL_MODES),
    ],
)
def test_choices_are_listed_in_plain_words(tmp_path, monkeypatch, arguments, choices):
    monkeypatch.chdir(tmp_path)
    line = run(*arguments).stderr.strip()
    assert line.endswith("expected one of " + ", ".join(choices)), line
    assert "[" not in line and "'," not in line
