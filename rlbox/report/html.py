"""report.html: one self-contained page for a run directory or a comparison directory.

Images are inlined as base64 PNG and videos as base64 MP4 data URIs, and the page loads no CSS,
script or font from anywhere, so it can be mailed, archived or opened offline as a single file.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

import rlbox.run.rundir as rundir
from rlbox.errors import RlboxError
from rlbox.report.tables import steps_axis, summary_table, write_comparison
from rlbox.run.rundir import CONFIG_FILE, METRICS_FILE, RESULT_FILE, write_atomic

REPORT_FILE = "report.html"
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
    its results.csv, summary.md and curves.png are remade with
    `rlbox.report.tables.write_comparison` and shown with a table of the runs. Anything else
    raises RlboxError.
    """
    path = Path(path)
    if rundir.is_run_dir(path):
        title, body = _run_page(path)
    elif run_dirs := rundir.run_dirs_in(path):
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


def _run_page(run_dir: Path) -> tuple[str, str]:
    config_text = rundir.read_file(run_dir, CONFIG_FILE, str)
    agent, env, seed = _run_key(rundir.read_config(run_dir))
    checkpoints = _checkpoint_rows(run_dir)  # raises before anything is written
    if checkpoints:
        checkpoint_table = _table(("checkpoint", "step", "eval return"), checkpoints)
    else:
        checkpoint_table = '<p class="note">No checkpoints.</p>'
    result = rundir.read_result(run_dir)
    if result is not None:
        final = _table(("result", "value"), _final_rows(result))
    else:
        final = f'<p class="note">Unfinished: no {RESULT_FILE} yet.</p>'
    if (run_dir / METRICS_FILE).is_file():
        curves = _img(_png(_run_curves(rundir.read_metrics(run_dir))), "learning curves")
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
        _videos(run_dir),
    ]
    return f"{agent} on {env}, seed {seed}", "\n".join(body)


def _comparison_page(out_dir: Path, run_dirs: list[Path]) -> tuple[str, str]:
    comparison = write_comparison(out_dir, run_dirs)
    summary = summary_table(comparison)  # the cells of summary.md, through rich's public API
    runs = []
    for run_dir in run_dirs:
        result = rundir.read_result(run_dir)
        final = "unfinished" if result is None else _final_return(result)
        runs.append((run_dir.name, *_run_key(rundir.read_config(run_dir)), final))
    agents = ", ".join(sorted({row.agent for row in comparison.rows}))
    envs = ", ".join(sorted({row.env for row in comparison.rows}))
    body = [
        "<h2>Summary</h2>",
        _table(
            [str(column.header) for column in summary.columns],
            zip(*(column.cells for column in summary.columns), strict=True),
            caption=str(summary.caption),
        ),
        "<h2>Learning curves</h2>",
        _img(_data_uri("image/png", comparison.curves.read_bytes()), "learning curves"),
        "<h2>Runs</h2>",
        _table(("run", "agent", "env", "seed", "final return"), runs),
    ]
    if comparison.missing:
        names = ", ".join(p.name for p in comparison.missing)
        body.append(f'<p class="note">Unfinished, left out of the summary: {escape(names)}</p>')
    return f"{agents} on {envs}", "\n".join(body)


def _run_key(config: dict) -> tuple[str, str, int]:
    return config["agent"], config["env"], config["run"]["seed"]


def _final_rows(result: dict) -> list[tuple[str, str]]:
    return [
        ("final eval return (mean ± std)", _final_return(result)),
        ("env steps", f"{result['env_steps']:,}"),
        ("training time (s)", f"{result['train_seconds']:.1f}"),
    ]


def _final_return(result: dict) -> str:
    return f"{result['eval_return_mean']:.2f} ± {result['eval_return_std']:.2f}"


def _checkpoint_rows(run_dir: Path) -> list[tuple[str, str, str]]:
    rows = []
    for directory, info in rundir.checkpoint_infos(run_dir):
        eval_return = info.get("eval_return_mean")
        rows.append(
            (
                directory.name,
                str(info.get("step", "")),
                "" if eval_return is None else f"{float(eval_return):.2f}",
            )
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
    axes[0].plot(evals["step"], mean, marker="o", markersize=4)
    axes[0].fill_between(evals["step"], mean - std, mean + std, alpha=0.25)
    axes[0].set_title("eval return (mean ± std)")
    if evals.empty:
        axes[0].text(0.5, 0.5, "no evaluation yet", ha="center", transform=axes[0].transAxes)
    for ax, column in zip(axes[1:], columns, strict=False):
        values = metrics[["step", column]].dropna()
        ax.plot(values["step"], values[column])
        ax.set_title(column)
    for ax in axes[: 1 + len(columns)]:
        steps_axis(ax, metrics["step"].max())
    for ax in axes[1 + len(columns) :]:
        ax.set_visible(False)
    return figure


def _videos(run_dir: Path) -> str:
    found = rundir.videos(run_dir)
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
