"""What the CLI commands do, kept apart from click's argument parsing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from cnnlint.config import Config, find_config, load_config, named_config
from cnnlint.errors import ConfigError, printable
from cnnlint.findings import Dataset, FindingKey
from cnnlint.levels import NEVER, risk_rank, severity_rank
from cnnlint.pipeline import DATA_UNREADABLE, LintSettings, ModelReport, lint_source
from cnnlint.reports import RenderOptions


def run_check(paths: list[str], opts: dict[str, Any]) -> int:
    from cnnlint.baseline import load_baseline, write_baseline
    from cnnlint.discovery import discover
    from cnnlint.output import check_distinct, check_target, input_ids, write_report
    from cnnlint.reports import FORMATS
    from cnnlint.reports.text import use_color
    from cnnlint.rules import select_rules

    config_file = named_config(opts["config_path"]) or find_config()
    config = load_config(config_file)
    rules = select_rules(
        _split(opts["select"]) or config.get("select"),
        _split(opts["ignore"]) or config.get("ignore"),
        _split(opts["extend_select"]) or config.get("extend-select"),
    )
    notes: list[str] = []
    sources, problems = discover(paths, notes, opts.get("skip_non_models", False))
    for note in notes:
        click.echo(f"cnnlint: note: {printable(note)}", err=True)
    baseline_path = opts["baseline"] or config.get("baseline")
    # checked before linting: a report must never overwrite a model, the config, the training data or the
    # baseline it read, nor go through a link planted in what is linted
    linted = [p for p in (*paths, *sources) if Path(p).is_dir()]
    data = _data_paths(sources, opts, config)
    data_folders = [p for p in data if Path(p).is_dir()]  # every file in them is read: refused by path, not listed
    inputs = input_ids([*sources, *([config_file] if config_file else []), *(p for p in data if p not in data_folders)])
    if opts["write_baseline"]:  # rewriting the configured baseline is its purpose
        check_target(opts["write_baseline"], inputs, linted, data_folders, what="the baseline",
                     option="--write-baseline")  # fmt: skip
    inputs |= input_ids([baseline_path] if baseline_path else [])
    if opts["output"]:
        check_target(opts["output"], inputs, linted, data_folders)
    if opts["output"] and opts["write_baseline"]:
        check_distinct(("--write-baseline", opts["write_baseline"]), ("--output", opts["output"]))
    settings = LintSettings(tuple(rules), config.rule_options, config.layer_ignores)
    fmt = opts["fmt"] or config.get("format", "text")
    render_options = RenderOptions(
        color=use_color(opts["no_color"], opts["output"]) and fmt == "text",
        verbose=opts["verbose"],
        quiet=opts["quiet"],
    )
    known = load_baseline(baseline_path) if baseline_path and not opts["write_baseline"] else None
    finish = Finish(fmt, render_options, known)
    probes, data_errors = _probe_all(sources, opts["data"], config)
    jobs = [
        (source, _with_probes(_dataset_for(source, opts, config), probes.get(source), source, opts, config),
         _settings_for(source, settings, config))
        for source in sources
        if source not in data_errors
    ]  # fmt: skip
    reports = _lint_all(jobs, finish, opts["jobs"])
    reports += [ModelReport(path=source, dataset=Dataset(), error=message, error_kind=DATA_UNREADABLE)
                for source, message in data_errors.items()]  # fmt: skip
    reports += [ModelReport(path=path, dataset=Dataset(), error=message, error_kind=kind) for path, message, kind in problems]

    if opts["write_baseline"]:
        count = write_baseline(opts["write_baseline"], reports, linted)
        click.echo(f"cnnlint: wrote {count} findings to baseline '{printable(opts['write_baseline'])}'", err=True)

    for report in reports:
        if report.error:
            click.echo(f"cnnlint: error: {printable(report.error)}", err=True)
    text = FORMATS[fmt](reports, render_options)
    if opts["output"]:
        write_report(opts["output"], text, inputs, linted)
    else:
        click.echo(text, nl=False)
    return _exit_code(reports, opts, config)


def _data_paths(sources: list[str], opts: dict[str, Any], config: Config) -> list[str]:
    """The training data the lint reads (``--data``, or each model's ``data =``): inputs, never overwritten."""
    wanted = [opts.get("data"), *(getattr(config.entry_for(source), "data", None) for source in sources)]
    return list(dict.fromkeys(str(data) for data in wanted if data))


def _split(values: tuple[str, ...] | None) -> list[str] | None:
    parts = [p.strip() for v in values or () for p in v.split(",") if p.strip()]
    return parts or None


def _dataset_for(source: str, opts: dict[str, Any], config: Config) -> Dataset:
    entry = config.entry_for(source)

    def pick(cli_value: Any, key: str) -> Any:
        if cli_value is not None:
            return cli_value
        if entry is not None and getattr(entry, key) is not None:
            return getattr(entry, key)
        return config.get(key)

    epochs = opts.get("full_epochs")
    return Dataset.of(
        samples=pick(opts["samples"], "samples"),
        classes=pick(opts["classes"], "classes"),
        augmented=pick(opts["augmented"], "augmented"),
        epochs=configured_full_epochs(config, source) if epochs is None else epochs,
        batch_size=opts.get("batch_size"),
    )


def _with_probes(dataset: Dataset, probes: Any, source: str, opts: dict[str, Any], config: Config) -> Dataset:
    """The data's own size replaces a training-set size given less specifically than the data was.

    --samples beats everything; --data beats any config value; a model entry's samples beats its data.
    """
    if probes is None:
        return dataset
    entry = config.entry_for(source)
    explicit = opts["samples"] is not None or (not opts["data"] and entry is not None and entry.samples is not None)
    return replace(dataset, probes=probes, samples=dataset.samples if explicit else probes.samples)


def _probe_all(sources: list[str], cli_data: str | None, config: Config) -> tuple[dict[str, Any], dict[str, str]]:
    """Each model's data probes (one run per distinct data path), and the models whose data cannot be read.

    A bad ``--data`` concerns every model: one error line.  A bad per-model ``data =`` fails only its models.
    """
    from cnnlint.errors import CnnlintError

    wanted = {source: cli_data or getattr(config.entry_for(source), "data", None) for source in sources}
    if not any(wanted.values()):
        return {}, {}
    from cnnlint.probe_cache import probe_data

    probed: dict[str, Any] = {}
    for data in dict.fromkeys(filter(None, wanted.values())):
        try:
            probed[data] = probe_data(data)
        except CnnlintError as exc:
            if cli_data:
                raise
            probed[data] = exc
    probes = {s: probed[d] for s, d in wanted.items() if d and not isinstance(probed[d], Exception)}
    errors = {s: f"{s}: {probed[d].one_line()}" for s, d in wanted.items() if d and isinstance(probed[d], Exception)}
    return probes, errors


def _settings_for(source: str, settings: LintSettings, config: Config) -> LintSettings:
    entry = config.entry_for(source)
    if entry is None or not entry.layer_ignores:
        return settings
    return replace(settings, layer_ignores=settings.layer_ignores + entry.layer_ignores)


@dataclass(frozen=True)
class Finish:
    """What the process that lints a model does with its report before handing it back: it leaves out the
    findings the baseline knows (``known``), then renders the model's part of the output (``reports.with_part``),
    so that with ``-j2`` the main process only assembles the parts (issue 26)."""

    fmt: str
    options: RenderOptions
    known: set[FindingKey] | None = None

    def __call__(self, report: ModelReport) -> ModelReport:
        from cnnlint.reports import with_part

        if self.known is not None:
            from cnnlint.baseline import new_findings

            report = replace(report, findings=new_findings(report, self.known))
        return with_part(report, self.fmt, self.options)


Job = tuple[str, Dataset, LintSettings]


def _lint_one(job: Job, finish: Finish) -> ModelReport:
    source, dataset, settings = job
    try:
        return finish(lint_source(source, dataset, settings))
    except Exception as exc:  # a bug must not hide the other files or print a traceback
        return ModelReport(
            path=source,
            dataset=dataset,
            error=f"{source}: internal error while linting ({type(exc).__name__}: {exc}); please report it",
        )


def _lint_all(jobs: list[Job], finish: Finish, workers: int) -> list[ModelReport]:
    import gc

    # the reports kept so far are moved out of the cyclic collector's view after each file: otherwise every full
    # collection walks all of them again, which costs 10-15 % of a lint of 2,000 small files (issue 26)
    try:
        return [_kept(report) for report in _reports(jobs, finish, workers)]
    finally:
        gc.unfreeze()


def _kept(report: ModelReport) -> ModelReport:
    import gc

    gc.freeze()
    return report


#: the ``Finish`` of the run, in a ``-j`` worker: sent once when the worker starts (``_start_worker``), not with
#: every job, as it holds the baseline's findings
_worker_finish: Finish | None = None


def _start_worker(finish: Finish) -> None:
    global _worker_finish
    _worker_finish = finish


def _lint_in_worker(job: Job) -> ModelReport:
    assert _worker_finish is not None, "a worker lints only after _start_worker"
    return _lint_one(job, _worker_finish)


def _reports(jobs: list[Job], finish: Finish, workers: int) -> Iterator[ModelReport]:
    if workers <= 1 or len(jobs) <= 1:
        yield from (_lint_one(job, finish) for job in jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    chunk = max(1, len(jobs) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(finish,)) as pool:  # fmt: skip
        yield from pool.map(_lint_in_worker, jobs, chunksize=chunk)


def _exit_code(reports: list[ModelReport], opts: dict[str, Any], config: Config) -> int:
    """2 for an unreadable file; otherwise 1 when the gate fails (see ``gate_settings``), else 0."""
    if any(r.error for r in reports):
        return 2
    if opts["exit_zero"]:
        return 0
    severity, fail_on = gate_settings(opts["severity"] or config.get("severity"), opts["fail_on"] or config.get("fail-on"))
    for report in reports:
        if severity != NEVER and any(severity_rank(f.severity) >= severity_rank(severity) for f in report.findings):
            return 1
        if fail_on != NEVER and report.risk is not None and risk_rank(report.risk.level) >= risk_rank(fail_on):
            return 1
    return 0


def gate_settings(severity: str | None, fail_on: str | None) -> tuple[str, str]:
    """The two halves of the gate: findings at or above ``severity``, a risk at or above ``fail_on``.

    ``never`` turns a half off. ``--fail-on never`` means never fail: findings too, unless a severity is named.
    """
    fail_on = fail_on or "high"
    return severity or (NEVER if fail_on == NEVER else "warning"), fail_on


def run_inspect(model: str, fmt: str) -> int:

    from cnnlint.analysis import analyze
    from cnnlint.pipeline import model_graph
    from cnnlint.readers import read_model
    from cnnlint.summary import graph_summary, render_summary

    if not Path(model).exists() and not Path(model).is_symlink():
        raise ConfigError(f"no such file or folder: '{model}'")
    graph = model_graph(read_model(model))
    facts = analyze(graph)
    if fmt == "json":
        from cnnlint.reports.base import json_text

        click.echo(json_text(graph_summary(graph, facts), indent=2))
    else:
        click.echo(render_summary(graph, facts))
    return 0


def run_confirm(model: str, data: str, fmt: str, output: str | None, opts: dict[str, Any]) -> int:
    from cnnlint.confirmation import ConfirmOptions, confirm_path, progress_wanted
    from cnnlint.output import check_target, input_ids, write_report
    from cnnlint.reports import CONFIRM_FORMATS, RenderOptions

    if not Path(model).exists():
        raise ConfigError(f"no such file or folder: '{model}'")
    inputs = input_ids([model, data])
    if output:
        check_target(output, inputs)
    if opts.get("full_epochs") is None:
        opts = {**opts, "full_epochs": configured_full_epochs(load_config(find_config()), model)}
    options = ConfirmOptions(progress=progress_wanted(), **opts)  # a bar on stderr: any format, any output
    report, _ = confirm_path(model, data, options)
    text = CONFIRM_FORMATS[fmt]([report], RenderOptions())
    if output:
        write_report(output, text, inputs)
    else:
        click.echo(text, nl=False)
    return 0


def configured_full_epochs(config: Config, model: str) -> int | None:
    """``full-epochs`` from the model's ``[[tool.cnnlint.models]]`` entry, else from ``[tool.cnnlint]``."""
    entry = config.entry_for(model)
    if entry is not None and entry.full_epochs is not None:
        return entry.full_epochs
    return config.get("full-epochs")
