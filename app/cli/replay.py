"""``bullpen replay``: a past season through the running system, in a stack of its own."""

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from app.cli.common import UserError, checked


def _number(value: Any, digits: int = 5) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _print_report(report: dict[str, Any]) -> None:
    click.echo(
        f"replay {report['season']} {report['from']}..{report['to']}: {report['days']} days, "
        f"{report['games']} games, {report['predictions']} predictions, {report['bets']} bets, "
        f"{report['graded']} graded"
    )
    click.echo("live log loss, model / de-vigged open / de-vigged close (n games):")
    for target, values in report["targets"].items():
        model, market_open, market_close = (
            (values.get(key) or {}).get("log_loss")
            for key in ("model", "market_open", "market_close")
        )
        click.echo(
            f"  {target:<12} {_number(model)} / {_number(market_open)} / "
            f"{_number(market_close)} (n={values.get('n')})"
        )
    betting = report["betting"]
    click.echo(
        f"served bets: {betting['bets']} ({betting['paper_bets']} paper), "
        f"{betting['graded']} graded, {betting['action']} with action; "
        f"ROI {_number(betting['roi'], 4)} {_interval(betting['roi_interval'])}"
    )
    click.echo(
        f"CLV against the sharp close: {betting['clv_bets']} bets, mean "
        f"{_number(betting['mean_clv'], 4)} {_interval(betting['clv_interval'])}, "
        f"t {_number(betting['clv_t'], 2)} (clustered by {betting['clv_dates']} dates), "
        f"beat rate {_number(betting['clv_beat_rate'], 3)}"
    )
    click.echo(
        f"arbitrages: {betting['arbitrages']}; bankroll (live bets): "
        f"{betting['bankroll_bets']} bets, max drawdown {_number(betting['max_drawdown'], 4)}, "
        f"final {_number(betting['final_bankroll'], 2)}"
    )
    for name, strategy in report["strategies"].items():
        click.echo(
            f"strategy {name}: {strategy['state']}, {strategy['bets']} settled bets, mean CLV "
            f"{_number(strategy['mean_clv'], 4)}, t {_number(strategy['clv_t'], 2)}"
        )


def _interval(bounds: list[float] | tuple[float, float] | None) -> str:
    return "" if not bounds else f"[95%: {bounds[0]:.4f}, {bounds[1]:.4f}]"


@click.command()
@click.option("--season", type=int, required=True, help="The season to replay.")
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder shaped like ../shared/data (sbro/, retrosheet/, optional pinnacle/).",
)
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First day to replay.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last day to replay.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the summary.",
)
@click.option("--keep", is_flag=True, help="Leave the replay stack running (Ctrl-C stops it).")
def replay(
    season: int,
    data_dir: Path,
    first: datetime | None,
    last: datetime | None,
    json_path: Path | None,
    keep: bool,
) -> None:
    """Replay SEASON day by day through the system, in a stack of its own under
    var/replay-SEASON: seasons before it train the champions; each day's schedule and odds
    arrive through the feeds, one batch prediction job goes through the REST API, bets are
    recorded and settled on that day's finals. Prints the live metrics at the end."""
    from app.config import Settings
    from app.replay.run import (
        ReplayError,
        bankroll_png,
        live_report,
        log_replay,
        run_days,
        start_replay,
        train,
    )
    from app.replay.season import SeasonFilesMissing
    from app.replay.stack import ReplayStackError
    from app.stack.supervisor import interrupt_on_sigterm

    interrupt_on_sigterm()
    wall = time.perf_counter()
    errors = (ReplayError, ReplayStackError, SeasonFilesMissing)
    try:
        run = start_replay(
            checked(Settings.from_env()),
            season,
            data_dir.resolve(),
            first.date() if first else None,
            last.date() if last else None,
        )
    except errors as error:
        raise UserError(str(error)) from None
    except KeyboardInterrupt:
        click.echo("stopped")
        sys.exit(130)
    try:
        click.echo(
            f"replay of {season}: {len(run.days)} days ({run.days[0]}..{run.days[-1]}), stack "
            f"under {run.settings.var_dir}, provider {run.server.url}"
        )
        run.stack.start_components()
        train(run, click.echo)
        started = time.perf_counter()
        run.stack.wait_ready()
        run.profile["waiting for the API"] += time.perf_counter() - started
        days = run_days(run)
        if sys.stdout.isatty():
            with click.progressbar(
                days,
                length=len(run.days),
                label="replaying",
                item_show_func=lambda result: result.line() if result else "",
            ) as bar:
                for _ in bar:
                    pass
        else:
            for result in days:
                click.echo(result.line())
        started = time.perf_counter()
        report = live_report(run)
        png = bankroll_png(report)
        run_id = log_replay(run.settings, report, png)
        run.profile["metrics"] += time.perf_counter() - started
        report["wall_seconds"] = round(time.perf_counter() - wall, 1)
        report["profile_seconds"] = {name: round(s, 1) for name, s in run.profile.most_common()}
        report["mlflow_run_id"] = run_id
        _print_report(report)
        png_path = (json_path or run.settings.var_dir / "replay.json").with_suffix(".png")
        png_path.parent.mkdir(parents=True, exist_ok=True)
        png_path.write_bytes(png)
        if json_path is not None:
            json_path.write_text(json.dumps(report, indent=1) + "\n")
            click.echo(f"wrote {json_path} and {png_path}")
        else:
            click.echo(f"wrote {png_path}")
        profile = ", ".join(f"{name} {s:.1f} s" for name, s in run.profile.most_common())
        click.echo(f"wall time {report['wall_seconds']} s ({profile}); MLflow run {run_id}")
        if keep:
            click.echo(f"replay API: {run.api}")
            click.echo("Ctrl-C stops the replay stack")
            if run.stack.supervisor is not None:
                run.stack.supervisor.watch()
    except KeyboardInterrupt:
        click.echo("stopping the replay stack")
    except errors as error:
        raise UserError(str(error)) from None
    finally:
        run.stop()
