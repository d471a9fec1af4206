"""report.html: one self-contained page for a run directory or a comparison directory.

Images are inlined as base64 PNG and videos as base64 MP4 data URIs, and the page loads no CSS,
script or font from anywhere, so it can be mailed, archived or opened offline as a single file.
"""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Callable, Iterable, Sequence
from html import escape
from pathlib import Path
from typing import TypeVar

import pandas as pd
import yaml
from matplotlib.figure import Figure

from rlbox.errors import RlboxError
from rlbox.report.tables import summary_table, write_report
from rlbox.run import checkpoint
from rlbox.run.logger import write_atomic

T = TypeVar("T")
REPORT_FILE = "report.html"
CONFIG_FILE, METRICS_FILE, RESULT_FILE = "config.yaml", "metrics.csv", "result.json"
NOT_TRAINING_METRICS = {"step", "time", "sps"}  # and every eval_* column
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
{body}
</body>
</html>
"""
STYLE = """
body { font: 15px/1.4 system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
caption { caption-side: bottom; text-align: left; color: #555; padding-top: 0.3em; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; }
img, video { max-width: 100%; }
figure { display: inline-block; margin: 0 1em 1em 0; }
.note { color: #555; }
"""


def write_html_report(path: Path) -> Path:
    """Write `path`/report.html for a run directory or a comparison directory; return its path.

    A directory holding config.yaml is a run: its config, final numbers, checkpoints (each one
    loaded, so a missing or corrupt one raises CheckpointError naming the file), learning
    curves and recorded videos. A directory whose subfolders hold config.yaml is a comparison:
    its results.csv, summary.md and curves.png are remade with `rlbox.report.write_report`
    and shown with a table of the runs. Anything else raises RlboxError.
    """
    path = Path(path)
    if (path / CONFIG_FILE).is_file():
        title, body = _run_page(path)
    elif run_dirs := _run_dirs_in(path):
        title, body = _comparison_page(path, run_dirs)
    else:
        raise RlboxError(
            f"{path} is neither a run directory (with {CONFIG_FILE}) nor a comparison "
            "directory (with run directories in it)"
        )
    page = PAGE.format(title=escape(title), style=STYLE, body=body)
    out = path / REPORT_FILE
    # Character references keep the file ASCII, so the locale's encoding cannot garble it.
    write_atomic(out, page.encode("ascii", "xmlcharrefreplace").decode("ascii"))
    return out


def _run_dirs_in(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if (p / CONFIG_FILE).is_file())


def _run_page(run_dir: Path) -> tuple[str, str]:
    config_path = run_dir / CONFIG_FILE
    config_text = _load(config_path, str)
    agent, env, seed = _load(config_path, _run_key)
    checkpoints = _checkpoint_rows(run_dir / "checkpoints")  # raises before anything is written
    if checkpoints:
        checkpoint_table = _table(("checkpoint", "step", "eval return"), checkpoints)
    else:
        checkpoint_table = '<p class="note">No checkpoints.</p>'
    result_path = run_dir / RESULT_FILE
    if result_path.is_file():
        final = _table(("result", "value"), _load(result_path, _final_rows))
    else:
        final = f'<p class="note">Unfinished: no {RESULT_FILE} yet.</p>'
    metrics_path = run_dir / METRICS_FILE
    if metrics_path.is_file():
        curves = _img(_png(_run_curves(_load(metrics_path, _read_metrics))), "learning curves")
    else:
        curves = f'<p class="note">No {METRICS_FILE} yet.</p>'
    body = [
        "<h2>Config</h2>",
        f"<pre>{escape(config_text)}</pre>",
        "<h2>Final</h2>",
        final,
        checkpoint_table,
        "<h2>Learning curves</h2>",
        curves,
        "<h2>Recorded evaluation episodes</h2>",
        _videos(run_dir / "videos"),
    ]
    return f"{agent} on {env}, seed {seed}", "\n".join(body)


def _comparison_page(out_dir: Path, run_dirs: list[Path]) -> tuple[str, str]:
    report = write_report(out_dir, run_dirs)
    summary = summary_table(report)  # the cells of summary.md, through rich's public API
    runs = []
    for run_dir in run_dirs:
        result = run_dir / RESULT_FILE
        final = (
            _load(result, lambda t: _final_return(json.loads(t)))
            if result.is_file()
            else "unfinished"
        )
        runs.append((run_dir.name, *_load(run_dir / CONFIG_FILE, _run_key), final))
    agents = ", ".join(sorted({row.agent for row in report.rows}))
    envs = ", ".join(sorted({row.env for row in report.rows}))
    body = [
        "<h2>Summary</h2>",
        _table(
            [str(column.header) for column in summary.columns],
            zip(*(column.cells for column in summary.columns), strict=True),
            caption=str(summary.caption),
        ),
        "<h2>Learning curves</h2>",
        _img(_data_uri("image/png", report.curves.read_bytes()), "learning curves"),
        "<h2>Runs</h2>",
        _table(("run", "agent", "env", "seed", "final return"), runs),
    ]
    if report.missing:
        names = ", ".join(p.name for p in report.missing)
        body.append(f'<p class="note">Unfinished, left out of the summary: {escape(names)}</p>')
    return f"{agents} on {envs}", "\n".join(body)


def _load(path: Path, parse: Callable[[str], T]) -> T:
    """parse(text of path), with any failure turned into a one-line RlboxError naming the file."""
    try:
        return parse(path.read_text())
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as error:
        raise RlboxError(f"{path} is unreadable: {error!r}") from None


def _run_key(text: str) -> tuple[str, str, int]:
    config = yaml.safe_load(text)
    return str(config["agent"]), str(config["env"]), int(config["run"]["seed"])


def _final_rows(text: str) -> list[tuple[str, str]]:
    result = json.loads(text)
    return [
        ("final eval return (mean ± std)", _final_return(result)),
        ("env steps", f"{int(result['env_steps']):,}"),
        ("training time (s)", f"{float(result['train_seconds']):.1f}"),
    ]


def _final_return(result: dict) -> str:
    return f"{float(result['eval_return_mean']):.2f} ± {float(result['eval_return_std']):.2f}"


def _read_metrics(text: str) -> pd.DataFrame:
    metrics = pd.read_csv(io.StringIO(text))
    for column in ("step", "eval_return_mean", "eval_return_std"):
        if column not in metrics:
            raise ValueError(f"no {column} column")
    return metrics


def _checkpoint_rows(checkpoints_dir: Path) -> list[tuple[str, str, str]]:
    """One row per checkpoint, oldest first, then best; each is loaded to check that it is whole."""
    directories = checkpoint.list_checkpoints(checkpoints_dir)
    if (checkpoints_dir / "best").is_dir():
        directories.append(checkpoints_dir / "best")
    rows = []
    for directory in directories:
        _, info = checkpoint.load(directory)
        step = info.get("step", "")
        eval_return = info.get("eval_return_mean")
        rows.append(
            (directory.name, str(step), "" if eval_return is None else f"{float(eval_return):.2f}")
        )
    return rows


def _run_curves(metrics: pd.DataFrame) -> Figure:
    """Eval return (mean ± std band) in the first panel, then one panel per training metric."""
    columns = [
        c
        for c in metrics.columns
        if c not in NOT_TRAINING_METRICS
        and not c.startswith("eval_")
        and pd.api.types.is_numeric_dtype(metrics[c])
        and metrics[c].notna().any()
    ]
    ncols = min(1 + len(columns), 3)
    nrows = math.ceil((1 + len(columns)) / ncols)
    figure = Figure(figsize=(4.5 * ncols, 3 * nrows), dpi=100, layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    evals = metrics[metrics["eval_return_mean"].notna()]
    mean, std = evals["eval_return_mean"], evals["eval_return_std"].fillna(0.0)
    axes[0].plot(evals["step"], mean, marker=".")
    axes[0].fill_between(evals["step"], mean - std, mean + std, alpha=0.25)
    axes[0].set_title("eval return (mean ± std)")
    if evals.empty:
        axes[0].text(0.5, 0.5, "no evaluation yet", ha="center", transform=axes[0].transAxes)
    for ax, column in zip(axes[1:], columns, strict=False):
        values = metrics[["step", column]].dropna()
        ax.plot(values["step"], values[column])
        ax.set_title(column)
    for ax in axes[: 1 + len(columns)]:
        ax.set_xlabel("env steps")
    for ax in axes[1 + len(columns) :]:
        ax.set_visible(False)
    return figure


def _videos(videos_dir: Path) -> str:
    found = sorted(
        (int(p.stem.removeprefix("step-")), p)
        for p in videos_dir.glob("step-*.mp4")
        if p.stem.removeprefix("step-").isdigit()
    )
    if not found:
        return '<p class="note">No recorded videos.</p>'
    return "\n".join(
        f'<figure><video controls preload="metadata" src="{_data_uri("video/mp4", p.read_bytes())}"'
        f"></video><figcaption>step {step}</figcaption></figure>"
        for step, p in found
    )


def _table(
    header: Sequence[str], rows: Iterable[Sequence[object]], caption: str | None = None
) -> str:
    lines = ["<table>"]
    if caption:
        lines.append(f"<caption>{escape(caption)}</caption>")
    lines.append("<tr>" + "".join(f"<th>{escape(str(h))}</th>" for h in header) + "</tr>")
    lines += ["<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join([*lines, "</table>"])


def _img(uri: str, alt: str) -> str:
    return f'<img src="{uri}" alt="{escape(alt)}">'


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return _data_uri("image/png", buffer.getvalue())


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
