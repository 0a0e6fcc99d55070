"""The command line: ``cnnlint PATH...`` (lint), ``inspect``, ``rules``, ``rule CODE``, ``confirm``.

Exit codes: 0 clean, 1 findings or risk at or above the gate, 2 usage error or
unreadable input.  Every error is one line on stderr; never a traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from cnnlint import __version__
from cnnlint.config import CONFIRM_OPTION_TYPES as CONFIRM
from cnnlint.config import DEFAULTS, OPTION_TYPES, Count
from cnnlint.errors import CnnlintError
from cnnlint.reports import COMMAND_FORMATS


class DefaultGroup(click.Group):
    """Runs ``check`` when the first argument is not a subcommand: ``cnnlint model.keras`` just works."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["check", *args]
        elif not args:
            args = ["--help"]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cnnlint")
def cli() -> None:
    """Estimate, before training, how likely a Keras CNN is to overfit its training set.

    \b
    cnnlint model.keras --samples 5000        lint (the default command)
    cnnlint inspect model.keras               layer table with receptive fields
    cnnlint rules / cnnlint rule C105         the rules and their documentation
    cnnlint confirm model.keras --data d.npz  check the estimate with a short training run
    """


@cli.command("check")
@click.argument("paths", nargs=-1, required=True)
@click.option("--samples", "-n", type=OPTION_TYPES["samples"], help="Training-set size the model is meant for.")
@click.option("--classes", type=OPTION_TYPES["classes"], help="Number of classes (default: from the output layer).")
@click.option("--augmented/--not-augmented", default=None, help="The input pipeline augments outside the model.")
@click.option("--data", type=click.Path(), help="Training data to probe: .npz (x_train/y_train or x/y) or an image folder.")
@click.option("--full-epochs", type=OPTION_TYPES["full-epochs"],
              help="Epochs of your real training run: the risk is estimated for it (default: a full run, or "
                   "full-epochs in the config).")
@click.option("--batch-size", type=Count(min=1), default=DEFAULTS["batch-size"], show_default=True,
              help="Batch size of that run.")
@click.option("--format", "fmt", type=OPTION_TYPES["format"])
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here (atomically).")
@click.option("--fail-on", type=OPTION_TYPES["fail-on"],
              help="Fail when a model's risk is at least this [default: high]; never: do not fail at all.")
@click.option("--severity", type=OPTION_TYPES["severity"],
              help="Fail on findings at least this severe [default: warning; never with --fail-on never].")
@click.option("--select", multiple=True, help="Rule codes or prefixes to run (comma-separated).")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to skip.")
@click.option("--extend-select", multiple=True, help="Add rules to the selection.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even with findings (unreadable files still exit 2).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: found upward).")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Only findings not in this baseline fail.")
@click.option("--write-baseline", type=click.Path(dir_okay=False), help="Record current findings as the baseline.")
@click.option("--skip-non-models", is_flag=True,
              help="Skip named files that are not models (JSON that is no model's), as a folder walk does.")
@click.option("--jobs", "-j", type=Count(min=1), default=1, show_default=True, help="Files linted in parallel.")
@click.option("--quiet", "-q", is_flag=True, help="Findings and risk lines only, no fixes.")
@click.option("--verbose", "-v", is_flag=True, help="Also say which rules were skipped and why.")
@click.option("--no-color", is_flag=True, help="Never color the text output.")
def check_command(paths: tuple[str, ...], **opts: Any) -> None:
    """Lint model files, folders or globs (the default command)."""
    from cnnlint.commands import run_check

    sys.exit(run_check(list(paths), opts))


@cli.command("inspect")
@click.argument("model")
@click.option("--format", "fmt", type=click.Choice(COMMAND_FORMATS["inspect"]), default="text", show_default=True)
def inspect_command(model: str, fmt: str) -> None:
    """Show the model graph: a model.summary()-style table with receptive fields and totals."""
    from cnnlint.commands import run_inspect

    sys.exit(run_inspect(model, fmt))


@cli.command("rules")
def rules_command() -> None:
    """List every rule with its code, name, default severity and summary."""
    from cnnlint.rules import RULES

    for rule in RULES.values():
        samples = "  (needs --samples)" if rule.needs_samples else ""
        click.echo(f"{rule.code}  {rule.name:<26} {rule.severity:<8} {rule.summary}{samples}")


@cli.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print a rule's documentation: what it does, why it matters, an example and the fix."""
    from cnnlint.rules import get_rule

    rule = get_rule(code)
    options = ", ".join(f"{k} = {v!r}" for k, v in rule.options.items()) or "none"
    click.echo(f"# {rule.name} ({rule.code})\n")
    click.echo(f"Default severity: {rule.severity}. Category: {rule.category}. Options: {options}.\n")
    click.echo(terminal_text(rule.doc.strip()))


def terminal_text(doc: str) -> str:
    """Rule docs are docstrings with RST ``literals``; a terminal shows them the way Markdown writes them."""
    import re

    return re.sub(r"(?<!`)``([^`\n]+)``(?!`)", r"`\1`", doc)


@cli.command("confirm")
@click.argument("model")
@click.option("--data", required=True, type=click.Path(), help=".npz (x_train/y_train[/x_val/y_val] or x/y) or an image folder.")
@click.option("--samples", "-n", type=CONFIRM["samples"],
              help="Train on this many rows: of those --val-split leaves, or of all with x_val/y_val in the data.")
@click.option("--full-epochs", type=CONFIRM["full-epochs"],
              help=f"Epochs of your real training run: the gap is forecast there (default {DEFAULTS['full-epochs']}, "
                   "or full-epochs in the config).")
@click.option("--fraction", type=CONFIRM["fraction"], default=DEFAULTS["fraction"], show_default=True, help="Train at most this share of --full-epochs.")
@click.option("--early-stop/--no-early-stop", default=True, show_default=True, help="Stop as soon as the forecast decides the verdict.")
@click.option("--epochs", type=CONFIRM["epochs"], help="Train exactly this many epochs instead (no early stop).")
@click.option("--budget", type=CONFIRM["budget"], help="Also stop after this many seconds.")
@click.option("--val-split", type=CONFIRM["val-split"], default=DEFAULTS["val-split"], show_default=True,
              help="Share of the rows held out for validation when the data has no x_val/y_val.")
@click.option("--seed", type=CONFIRM["seed"], default=DEFAULTS["seed"], show_default=True)
@click.option("--batch-size", type=CONFIRM["batch-size"], default=DEFAULTS["batch-size"], show_default=True)
@click.option("--device", type=CONFIRM["device"], default=DEFAULTS["device"], show_default=True)
@click.option("--probe", is_flag=True, help="Also train on shuffled labels to measure memorization.")
@click.option("--trust-code", is_flag=True, help="Allow Lambda layers and custom objects (runs their code).")
@click.option("--format", "fmt", type=click.Choice(COMMAND_FORMATS["confirm"]), default="text")
@click.option("--output", "-o", type=click.Path(dir_okay=False))
def confirm_command(model: str, data: str, fmt: str, output: str | None, **opts: Any) -> None:
    """Train a fresh copy of MODEL briefly on your data, forecast the gap of the full run, check the estimate."""
    from cnnlint.commands import run_confirm

    sys.exit(run_confirm(model, data, fmt, output, opts))


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors and exit code 2 for every usage or input problem."""
    try:
        cli.main(args=argv, prog_name="cnnlint", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see 'cnnlint {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.info_name != "cnnlint" else ""
        click.echo(f"cnnlint: error: {exc.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.Abort:
        click.echo("cnnlint: interrupted", err=True)
        sys.exit(130)
    except CnnlintError as exc:
        click.echo(f"cnnlint: error: {exc.one_line()}", err=True)
        sys.exit(2)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("cnnlint: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # last resort: one line, never a traceback
        click.echo(f"cnnlint: internal error: {type(exc).__name__}: {exc} (please report it)", err=True)
        sys.exit(2)
