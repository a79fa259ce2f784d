"""The `perflab` command. Bad input: one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import os
import sys

import click

from perflab.errors import PerflabError
from perflab.inputs.capture import MAX_VALUES


def _db_schema(db_help: str, schema_help: str):
    """`--db` and `--schema`: the user's database or DDL file (run, workload init)."""

    def deco(f):
        f = click.option("--schema", default=None, help=schema_help)(f)
        return click.option("--db", default=None, help=db_help)(f)

    return deco


def _min_effect(help_text: str):
    """`--min-effect`: the smallest change a comparison counts (run --baseline, compare)."""
    return click.option("--min-effect", type=float, default=None, help=help_text)


def _fail_on(help_text: str):
    """`--fail-on`, repeatable: what makes the command exit 1 (run, compare)."""
    return click.option("--fail-on", "fail_on", multiple=True, help=help_text)


def _out(help_text: str, **kw):
    """`--out`: the one file or folder a command writes (run, capture, workload init)."""
    return click.option("--out", "out", default=None, help=help_text, **kw)


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
@_out(
    "Run folder (default: outputs/<run-id>/ in a checkout, ./perflab-runs/<run-id>/ "
    "when installed)."
)
@click.option("--dataset", default=None, help="Dataset spec YAML (default: embedded).")
@_db_schema(
    "Your existing SQLite database (read only; measured on a snapshot).",
    "Your DDL file: data is generated for it (--dataset optional).",
)
@click.option("--workload", default=None, help="Workload YAML (default: embedded).")
@click.option("--targets", default=None, help="Targets YAML (default: embedded).")
@click.option("--seed", type=int, default=None, help="Data and sampling seed.")
@click.option("--iterations", type=int, default=None, help="Timed executions per query.")
@click.option(
    "--milestone",
    type=click.IntRange(min=1),
    default=None,
    help="Milestone judged (default 1): later milestones' queries wait and their targets "
    "are shown, not judged; the embedded workload's milestone 2 adds namespace trees, "
    "dashboard JOINs and paging.",
)
@click.option(
    "--baseline",
    default=None,
    help="A previous run folder or summary.json to compare against (comparison.html).",
)
@_min_effect("With --baseline: smallest change that counts (default 0.25).")
@_fail_on(
    "Exit 1 on 'reject' (decision REJECTED) and/or 'regression' (needs --baseline); "
    "repeat or comma-separate."
)
def run_cmd(out, baseline, min_effect, fail_on, **inputs):
    """Build or reuse the database, run every notebook, publish the report."""
    import perflab
    from perflab.judge.gate import check_gates, parse_fail_on

    gates = parse_fail_on(fail_on, baseline)
    result = perflab.run_suite(out=out, baseline=baseline, min_effect=min_effect, **inputs)
    failures = check_gates(result.summary, gates)
    for f in failures:
        click.echo(f"perflab: fail-on {f}", err=True)
    click.echo(str(result.index))
    return 1 if failures else 0


@cli.command("compare")
@click.argument("base")
@click.argument("head")
@click.option("--html", "html_out", default=None, help="Write the comparison page here.")
@_min_effect("Smallest change that counts (default 0.25).")
@_fail_on("'regression': exit 1 on one.")
def compare_cmd(base, head, html_out, min_effect, fail_on):
    """Compare two runs (folders or summary.json files): metrics, plans, indexes."""
    from pathlib import Path

    import perflab
    from perflab.judge.gate import check_gates, parse_fail_on
    from perflab.ownership import check_file_target, write_owned_text
    from perflab.present.comparison import html_report, text_report

    gates = parse_fail_on(fail_on, "given")
    if html_out:
        check_file_target(Path(html_out), "the comparison page")
    cmp = perflab.compare_runs(base, head, min_effect)
    click.echo(text_report(cmp))
    if html_out:
        write_owned_text(
            Path(html_out),
            html_report(cmp),
            "the comparison page",
            "<!-- ",
            " -->",
            first=False,
        )
        click.echo(f"wrote {html_out}")
    failures = check_gates({"comparison": cmp}, gates)
    for f in failures:
        click.echo(f"perflab: fail-on {f}", err=True)
    return 1 if failures else 0


@cli.command("history")
@click.argument("paths", nargs=-1, required=True)
@_out("Folder for history.html and history.json (default: ./perflab-history).")
@_min_effect("Smallest timing change that counts (default 0.25).")
def history_cmd(paths, out, min_effect):
    """Trend of runs (folders, summary.json files, or folders of them) by commit and time:
    timings, work and plans per query, and where they changed."""
    import perflab

    out = out or "perflab-history"
    h = perflab.history(paths, out=out, min_effect=min_effect)
    for line in h.sentences or [f"no change over {len(h.runs)} runs"]:
        click.echo(line)
    click.echo(f"{out}/history.html")
    return 0


@cli.command("notebooks")
@click.argument("dest")
def notebooks_cmd(dest):
    """Copy the notebooks into DEST (a new folder) to open them in JupyterLab."""
    from perflab.run.notebook_copy import copy_notebooks

    click.echo(str(copy_notebooks(dest)))
    return 0


@cli.command(
    "capture", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@_out("Workload YAML to write.", required=True)
@click.option("--from-log", "from_log", default=None, help="Read statements from this file.")
@click.option("--name", default=None, help="Workload name (default: from --out).")
@click.option(
    "--max-values",
    type=int,
    default=MAX_VALUES,
    show_default=True,
    help="Parameter tuples kept per statement shape.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def capture_cmd(out, from_log, name, max_values, command) -> None:
    """Record an application's SQLite statements as a workload file.

    \b
    perflab capture --out app.yaml -- python app.py
    perflab capture --out app.yaml --from-log statements.sql
    """
    from perflab.inputs.capture import capture

    report = capture(  # the one capture path, which perflab.capture_workload also takes
        command,
        out=out,
        from_log=from_log,
        name=name,
        max_values=max_values,
        warn=lambda msg: click.echo(msg, err=True),
    )
    click.echo(report.line(), err=True)


@cli.group("workload")
def workload_group() -> None:
    """Workload files: draft one from a schema."""


@workload_group.command("init")
@_db_schema("An existing database (read only).", "A DDL file.")
@_out("Write here (default: stdout).")
def init_cmd(db, schema, out) -> None:
    """Draft a workload from the schema's indexes, foreign keys and primary keys."""
    from perflab.inputs.draft import draft_workload, save_draft

    if out:
        save_draft(out, db=db, schema=schema)
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(draft_workload(db=db, schema=schema), nl=False)


@cli.command("sweep")
@click.argument("matrix")
@_out("Sweep folder (default: outputs/sweep-<name>/); cells already finished there are reused.")
@click.option(
    "--scheduler",
    default=None,
    help="An existing Dask scheduler (address or scheduler file); its workers started as "
    "'dask worker ADDRESS --nworkers 1 --nthreads 1 --resources measure=1'. Default: a local "
    "cluster of one worker, one thread.",
)
@click.option("--shared-dir", default=None, help="Workers write the cells' run folders here.")
def sweep_cmd(matrix, out, scheduler, shared_dir):
    """Run every cell of a matrix (engine x pragmas x scale x schema x workload x targets),
    each one complete run, and compare them: sweep.json and sweep.html."""
    import perflab

    result = perflab.sweep(matrix, out, scheduler=scheduler, shared_dir=shared_dir)
    click.echo(str(result.page))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        code = cli.main(args=argv, prog_name="perflab", standalone_mode=False)
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
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
