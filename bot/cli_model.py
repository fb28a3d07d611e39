"""`mammoth model ...`: evaluate, train, score and explain the intent model. Thin: parse, call ml, print.

Progress bars go to stderr, results to stdout (``--json`` prints JSON only).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

model_app = typer.Typer(
    help="AI intent model (AI潜客意向判断): evaluate backbones on an event log, train, score, explain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _fail(message: str) -> None:
    err.print(f"[red]✗[/red] {message}", highlight=False)
    raise typer.Exit(1)


@contextmanager
def _progress(enabled: bool = True):
    """Yield a factory ``name -> callback(message, fraction)`` drawing rich bars on stderr."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=err, transient=False,
    ) as bars:
        def factory(name: str):
            task = bars.add_task(name, total=1.0, note="")

            def update(message: str, fraction: float) -> None:
                bars.update(task, completed=min(1.0, max(0.0, fraction)), note=message)

            return update

        yield factory


@model_app.command("evaluate")
def evaluate_cmd(
    events: Path = typer.Option(..., "--events", exists=True, dir_okay=False, help="Event log: .csv(.gz) or .xes(.gz)."),
    labels: Path = typer.Option(..., "--labels", exists=True, dir_okay=False, help="CSV(.gz) with case_id and a label column."),
    label_column: str = typer.Option("label", "--label-column", help="Column of --labels holding 0/1 (empty = unlabelled)."),
    cut_before: str = typer.Option("", "--cut-before", help="Comma-separated activities; cases are cut before the first one."),
    seed: int = typer.Option(0, "--seed", help="Random seed (runs are deterministic for a seed)."),
    backbones: str = typer.Option("lstm,transformer,gbm", "--backbones", help="Comma-separated: lstm, transformer, gbm."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
) -> None:
    """Temporal 80/20 split, outcome cut, every backbone trained and scored on the same prefixes."""
    from ml.eventlog import EventLogError
    from ml.evaluate import evaluate

    names = _split(backbones)
    try:
        with _progress(err.is_terminal or not as_json) as progress:
            result = evaluate(events, labels, label_column=label_column, cut_before=_split(cut_before), seed=seed,
                              backbones=names, progress=progress)
    except (EventLogError, ValueError, KeyError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    table = Table(title=f"{result['n_test_prefixes']} test prefixes, {result['train_seconds']} s")
    for column in ("backbone", "AUC pooled", "AUC mean per length", "Brier"):
        table.add_column(column)
    for name in names:
        row = result[name]
        table.add_row(name, f"{row['auc']:.4f}", f"{row['auc_mean_prefix']:.4f}", f"{row['brier']:.4f}")
    out.print(table)


@model_app.command("train")
def train_cmd(
    from_db: bool = typer.Option(False, "--from-db", help="Train on the CRM's own won/lost customers (the default)."),
    events: Optional[Path] = typer.Option(None, "--events", exists=True, dir_okay=False,
                                          help="Or an event log: .csv(.gz) or .xes(.gz)."),
    labels: Optional[Path] = typer.Option(None, "--labels", exists=True, dir_okay=False,
                                          help="With --events: CSV(.gz) with case_id and a label column."),
    out_dir: Optional[Path] = typer.Option(None, "--out", file_okay=False,
                                           help="Write the model to this folder (activates nothing)."),
    label_column: str = typer.Option("label", "--label-column", help="Column of --labels holding 0/1."),
    cut_before: str = typer.Option("", "--cut-before", help="Comma-separated activities; cases are cut before the first one."),
    backbone: str = typer.Option("lstm", "--backbone", help="lstm, transformer or gbm."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    min_each: int = typer.Option(50, "--min-each", help="--from-db: won and lost customers needed, each."),
) -> None:
    """Train a new version. From the CRM it joins the registry (MAMMOTH_MODEL_DIR) and becomes
    active only if it beats the active model on a time-ordered holdout."""
    if events is None and labels is None:
        from_db = True
    if from_db:
        _train_from_db(backbone, seed, out_dir, min_each)
        return
    if events is None or labels is None or out_dir is None:
        _fail("--events needs --labels and --out (or use --from-db)")
    from ml.eventlog import EventLogError, read_event_log, read_labels
    from ml.train import train_and_save

    try:
        log = read_event_log(events)
        label_map = read_labels(labels, label_column)
        with _progress() as progress:
            folder = train_and_save(log, label_map, out_dir, backbone, cut_before=_split(cut_before), seed=seed,
                                    progress=progress(backbone) if progress else None)
    except (EventLogError, ValueError, KeyError) as exc:
        _fail(str(exc))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    out.print(f"saved {manifest['version']} to {folder}")
    out.print(f"validation: {manifest['metrics'].get('validation')}")


def _train_from_db(backbone: str, seed: int, out_dir: Path | None, min_each: int) -> None:
    from bot.runtime import open_database
    from ml.jobs import NotEnoughData, train_from_db

    try:
        with _progress() as progress:
            result = train_from_db(open_database(), backbone=backbone, seed=seed, out=out_dir, min_each=min_each,
                                   progress=progress(backbone) if progress else None)
    except NotEnoughData as exc:
        _fail(f"kept the current model: {exc}")
    previous = "none" if result.previous_auc is None else f"{result.previous_auc:.3f}"
    out.print(f"saved {result.version} to {result.folder}")
    out.print(f"time-ordered holdout AUC {result.holdout_auc:.3f} (active model: {previous}); "
              + ("now active" if result.activated else "not activated" if out_dir is None else "not registered"))


@model_app.command("score")
def score_cmd(
    all_customers: bool = typer.Option(False, "--all", help="Score every open customer into the CRM (IntentScore rows)."),
    customer: Optional[str] = typer.Option(None, "--customer", help="Score one customer (id or name) into the CRM."),
    model: Optional[Path] = typer.Option(None, "--model", exists=True, file_okay=False, help="With --events: model folder."),
    events: Optional[Path] = typer.Option(None, "--events", exists=True, dir_okay=False, help="Or score an event log's cases."),
    cut_before: str = typer.Option("", "--cut-before", help="Cut cases before these activities first."),
    top: Optional[int] = typer.Option(None, "--top", help="Only print the N highest scores."),
    as_json: bool = typer.Option(False, "--json", help="Print {case_id: score} as JSON."),
) -> None:
    """Score with the active model: the CRM's open customers (--all, --customer X; one batched
    pass, reasons included), or the cases of an event log (--events with --model)."""
    if events is None:
        _score_crm(customer)
        return
    if model is None:
        _fail("--events needs --model")
    from ml.dataset import cut_before as cut_log
    from ml.eventlog import EventLogError, read_event_log
    from ml.registry import load_model
    from ml.scoring import score_log

    try:
        loaded = load_model(model)
        scores = score_log(loaded, cut_log(read_event_log(events), _split(cut_before)))
    except (EventLogError, ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])[: top or None]
    if as_json:
        typer.echo(json.dumps(dict(ranked), ensure_ascii=False))
        return
    for case_id, p in ranked:
        out.print(f"{case_id}\t{p:.4f}", highlight=False)


def _score_crm(customer: str | None) -> None:
    import time

    from bot.runtime import open_database
    from ml.jobs import active_folder, score_customers

    db = open_database()
    ids = None
    if customer:
        from bot.cli import the_actor
        from bot.texts import describe_error
        from core.errors import DomainError
        from core.services.customers import resolve_customer

        try:
            with db.reader() as s:
                ids = [resolve_customer(s, the_actor(s, None), customer).id]
        except DomainError as exc:
            _fail(describe_error(exc, "en"))
    started = time.perf_counter()
    n = score_customers(db, customer_ids=ids)
    if n == 0 and not (active_folder() / "manifest.json").exists():
        _fail("no intent model: train one with `mammoth model train --from-db`")
    out.print(f"scored {n} customers with {active_folder().name} in {time.perf_counter() - started:.1f} s")


@model_app.command("explain")
def explain_cmd(
    model: Path = typer.Option(..., "--model", exists=True, file_okay=False, help="Model folder (with manifest.json)."),
    events: Path = typer.Option(..., "--events", exists=True, dir_okay=False, help="Event log holding the case."),
    case_id: str = typer.Option(..., "--case-id", help="Case (customer) to explain."),
    cut_before: str = typer.Option("", "--cut-before", help="Cut cases before these activities first."),
    top_k: int = typer.Option(3, "--top-k", help="How many events to list."),
) -> None:
    """Leave-one-event-out: which past events moved this case's score most."""
    from ml.dataset import cut_before as cut_log
    from ml.eventlog import EventLogError, read_event_log
    from ml.registry import load_model
    from ml.scoring import explain_case

    try:
        log = cut_log(read_event_log(events), _split(cut_before))
        case = log.by_id().get(case_id)
        if case is None:
            _fail(f"no case {case_id!r} in {events}")
        score, reasons = explain_case(load_model(model), case, top_k=top_k)
    except (EventLogError, ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    out.print(f"{case_id}: P(sign) = {score:.4f}", highlight=False)
    for r in reasons:
        out.print(f"  {r.effect:+.4f}  #{r.index} {r.activity} {r.timestamp:%Y-%m-%d %H:%M}", highlight=False)


@model_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print the versions as JSON.")) -> None:
    """The model registry (MAMMOTH_MODEL_DIR): every trained version and the shipped model, with
    its time-ordered holdout AUC; the active one is marked."""
    from dataclasses import asdict

    from ml.jobs import list_versions

    versions = list_versions()
    if as_json:
        typer.echo(json.dumps([asdict(v) for v in versions], ensure_ascii=False))
        return
    table = Table("", "version", "backbone", "created", "holdout AUC", "then active", "customers")
    for v in versions:
        auc = "—" if v.holdout_auc is None else f"{v.holdout_auc:.3f}"
        previous = "—" if v.previous_auc is None else f"{v.previous_auc:.3f}"
        table.add_row("✓" if v.active else "", v.version, v.backbone, v.created_at[:16].replace("T", " "), auc,
                      previous, "—" if v.n_cases is None else str(v.n_cases))
    out.print(table)


@model_app.command("activate")
def activate_cmd(
    version: str = typer.Argument(..., help="A version from `mammoth model list`, or 'shipped'."),
    rescore: bool = typer.Option(True, "--rescore/--no-rescore", help="Rescore every open customer with it now."),
) -> None:
    """Make a version the active model (e.g. roll back a retrain), then rescore the open customers
    so cards, /top and the morning digest stop showing the previous model's numbers."""
    from ml.jobs import activate

    try:
        folder = activate(version)
    except (ValueError, FileNotFoundError) as exc:
        _fail(str(exc))
    out.print(f"active model: {version} ({folder})", highlight=False)
    if rescore:
        _score_crm(None)
