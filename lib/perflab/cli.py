"""The `perflab` command. Bad input: one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import os
import sys

import click

from perflab.errors import PerflabError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="perflab")
def cli() -> None:
    """perflab: prove a SQLite schema is fast enough, and find out why it is not."""


@cli.command("run")
@click.option(
    "--profile",
    default="quick",
    show_default=True,
    help="tiny (tests), quick (CI, ~100k rows) or full (busy-deployment sizes).",
)
@click.option("--out", "out", default=None, help="Run folder (default outputs/<run-id>/).")
@click.option("--dataset", default=None, help="Dataset spec YAML (default: embedded).")
@click.option("--workload", default=None, help="Workload YAML (default: embedded).")
@click.option("--targets", default=None, help="Targets YAML (default: embedded).")
@click.option("--seed", type=int, default=None, help="Data and sampling seed.")
@click.option("--iterations", type=int, default=None, help="Timed executions per query.")
def run_cmd(profile, out, dataset, workload, targets, seed, iterations) -> None:
    """Build or reuse the database, run every notebook, publish the report."""
    from perflab.run import run

    result = run(
        profile,
        out,
        dataset=dataset,
        workload=workload,
        targets=targets,
        seed=seed,
        iterations=iterations,
    )
    click.echo(str(result.index))


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="perflab", standalone_mode=False)
    except PerflabError as exc:
        click.echo(f"perflab: error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"perflab: error: {exc.format_message()}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("perflab: interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("perflab: interrupted; earlier reports are untouched", err=True)
        return 130
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("PERFLAB_DEBUG"):
            raise
        click.echo(
            f"perflab: internal error: {type(exc).__name__}: {exc} (set PERFLAB_DEBUG=1 for "
            "the traceback)",
            err=True,
        )
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
