"""The comparison report on hand-written run directories with known answers."""

import csv
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from rlbox.errors import RlboxError
from rlbox.report.tables import (
    CI_NOTE,
    SUMMARY_COLUMNS,
    plot_curves,
    step_label,
    summary_table,
    write_comparison,
)

CARTPOLE, ACROBOT = "CartPole-v1", "Acrobot-v1"
DQN_FINALS = [1.0, 2.0, 3.0, 100.0]  # IQM = mean of the middle two = 2.5
DQN_SECONDS = [1.0, 2.0, 5.0, 10.0]  # 1000 steps each: 1000, 500, 200, 100 steps/s


def make_run(root, agent, env, seed, evals, *, seconds=1.0, finished=True, lr=0.001, name=None):
    """A run directory as the runner writes it; evals are (step, return) pairs, the last final.

    A training row without evaluation is written before every eval row."""
    run_dir = root / (name or f"{agent}-{env}-s{seed}")
    run_dir.mkdir(parents=True)
    config = {
        "agent": agent,
        "env": env,
        "run": {"seed": seed, "steps": 1000, "eval_every": 500},
        "hyperparams": {"lr": lr},
    }
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    header = ["step", "time", "sps", "eval_return_mean", "eval_return_std", "eval_length_mean"]
    with (run_dir / "metrics.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*header, "loss"])
        for step, ret in evals:
            writer.writerow([step - 100, (step - 100) / 100, 100.0, "", "", "", 0.5])
            writer.writerow([step, step / 100, 100.0, ret, abs(ret) / 10, 200.0, 0.25])
    if finished:
        result = {
            "run_dir": str(run_dir),
            "env_steps": evals[-1][0],
            "eval_return_mean": evals[-1][1],
            "eval_return_std": abs(evals[-1][1]) / 10,
            "train_seconds": seconds,
        }
        (run_dir / "result.json").write_text(json.dumps(result))
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    dirs = [
        # sb3-dqn overshoots: its seeds are evaluated at different steps.
        make_run(root, "sb3-dqn", CARTPOLE, 1, [(640, 30.0), (1280, 50.0)], seconds=2.0),
        make_run(root, "sb3-dqn", CARTPOLE, 0, [(512, 10.0), (768, 15.0), (1024, 20.0)]),
        make_run(root, "dqn", ACROBOT, 0, [(500, -300.0), (1000, -100.0)], seconds=4.0),
        make_run(root, "dqn", CARTPOLE, 4, [(500, 7.0)], finished=False),
    ]
    for seed in (3, 1, 0, 2):  # out of order, to check the sorting
        final = DQN_FINALS[seed]
        evals = [(500, final / 2), (1000, final)]
        dirs.append(make_run(root, "dqn", CARTPOLE, seed, evals, seconds=DQN_SECONDS[seed]))
    return dirs


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    return write_comparison(tmp_path_factory.mktemp("report"), runs)


def row_of(report, agent, env):
    (row,) = [r for r in report.rows if (r.agent, r.env) == (agent, env)]
    return row


def test_results_csv_has_one_row_per_evaluation(report):
    with report.results.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "agent",
        "env",
        "seed",
        "step",
        "eval_return_mean",
        "eval_return_std",
        "time",
    ]
    got = [(r["agent"], r["env"], int(r["seed"]), int(r["step"])) for r in rows]
    dqn_cartpole = [("dqn", CARTPOLE, s, step) for s in range(4) for step in (500, 1000)]
    assert got == [
        ("dqn", ACROBOT, 0, 500),
        ("dqn", ACROBOT, 0, 1000),
        *dqn_cartpole,
        ("sb3-dqn", CARTPOLE, 0, 512),
        ("sb3-dqn", CARTPOLE, 0, 768),
        ("sb3-dqn", CARTPOLE, 0, 1024),
        ("sb3-dqn", CARTPOLE, 1, 640),
        ("sb3-dqn", CARTPOLE, 1, 1280),
    ]
    seed3_final = rows[2 + 7]
    assert (seed3_final["seed"], seed3_final["step"]) == ("3", "1000")
    assert float(seed3_final["eval_return_mean"]) == 100.0
    assert float(seed3_final["eval_return_std"]) == 10.0
    assert float(seed3_final["time"]) == 10.0
    assert sorted(p.name for p in report.results.parent.iterdir()) == [
        "curves.png",
        "results.csv",
        "summary.md",
    ]


def test_summary_aggregates_final_returns_over_seeds(report):
    assert [(r.env, r.agent) for r in report.rows] == [
        (ACROBOT, "dqn"),
        (CARTPOLE, "dqn"),
        (CARTPOLE, "sb3-dqn"),
    ]
    row = row_of(report, "dqn", CARTPOLE)
    assert row.seeds == 4
    assert row.final_mean == pytest.approx(26.5)
    assert row.final_std == pytest.approx(math.sqrt(1801.25))  # population std of DQN_FINALS
    assert row.iqm == pytest.approx(2.5)
    assert 1.0 <= row.iqm_low <= 2.5 <= row.iqm_high <= 100.0
    assert row.iqm_low < row.iqm_high
    assert row.seconds_per_run == pytest.approx(4.5)
    assert row.steps_per_second == pytest.approx((1000 + 500 + 200 + 100) / 4)
    sb3 = row_of(report, "sb3-dqn", CARTPOLE)
    assert sb3.final_mean == pytest.approx(35.0)
    assert sb3.steps_per_second == pytest.approx((1024 / 1.0 + 1280 / 2.0) / 2)


def test_unfinished_run_is_reported_missing_and_not_counted(runs, report):
    assert report.missing == [runs[3]]
    assert row_of(report, "dqn", CARTPOLE).seeds == 4
    results = pd.read_csv(report.results)
    assert 4 not in set(results["seed"])


def test_summary_md_and_rich_table_show_the_same_cells(report):
    text = report.summary.read_text()
    assert text.startswith(CI_NOTE + "\n")
    assert "| " + " | ".join(SUMMARY_COLUMNS) + " |" in text
    row = "| dqn | CartPole-v1 | 4 | 26.50 ± 42.44 | 2.50 ["
    assert row in text and "| 4.5 | 450 |" in text
    table = summary_table(report)
    assert [c.header for c in table.columns] == list(SUMMARY_COLUMNS)
    assert table.row_count == 3
    assert list(table.columns[3].cells)[1] == "26.50 ± 42.44"


def test_report_is_reproducible(runs, report, tmp_path):
    again = write_comparison(tmp_path, runs)
    assert again.summary.read_text() == report.summary.read_text()


def test_curves_png_has_one_panel_per_env(report):
    data = report.curves.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width == 2 * 5 * 100  # two panels, 5 inches each at 100 dpi
    figure = plot_curves(pd.read_csv(report.results))
    assert [ax.get_title() for ax in figure.axes] == [ACROBOT, CARTPOLE]
    assert all(ax.get_xlabel() == "env steps" for ax in figure.axes)
    assert all(ax.get_ylabel() == "eval return" for ax in figure.axes)
    labels = [t.get_text() for t in figure.axes[1].get_legend().get_texts()]
    assert labels == ["dqn", "sb3-dqn"]


def test_curves_put_seeds_on_the_steps_they_all_cover(report):
    cartpole = plot_curves(pd.read_csv(report.results)).axes[1]
    dqn, sb3 = cartpole.lines
    np.testing.assert_allclose(dqn.get_xdata(), [500, 1000])
    np.testing.assert_allclose(dqn.get_ydata(), [26.5 / 2, 26.5])
    # seed 0 at 512, 768, 1024 and seed 1 at 640, 1280 overlap on [640, 1024]:
    # seed 0 -> 12.5, 15, 20 and seed 1 -> 30, 34, 42 by linear interpolation.
    np.testing.assert_allclose(sb3.get_xdata(), [640, 768, 1024])
    np.testing.assert_allclose(sb3.get_ydata(), [21.25, 24.5, 31.0])
    band = cartpole.collections[1].get_paths()[0].vertices[:, 1]
    assert 12.5 <= band.min() < band.max() <= 42.0


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("metrics.csv", None),
        ("config.yaml", None),
        ("config.yaml", "agent: [dqn\n"),
        ("config.yaml", "agent: dqn\nenv: CartPole-v1\n"),
        ("metrics.csv", "step,loss\n1000,1.0\n"),
        ("result.json", "{"),
    ],
)
def test_bad_run_file_raises_naming_it(tmp_path, name, content):
    run_dir = make_run(tmp_path / "runs", "dqn", CARTPOLE, 0, [(1000, 1.0)])
    if content is None:
        (run_dir / name).unlink()
    else:
        (run_dir / name).write_text(content)
    with pytest.raises(RlboxError, match=rf"/{name} is (missing|unreadable)") as error:
        write_comparison(tmp_path / "report", [run_dir])
    assert "\n" not in str(error.value)
    assert not (tmp_path / "report").exists()


def test_no_finished_run_or_a_duplicated_seed_raises(tmp_path):
    unfinished = make_run(tmp_path / "a", "dqn", CARTPOLE, 0, [(1000, 1.0)], finished=False)
    with pytest.raises(RlboxError, match="none of the 1 run directories"):
        write_comparison(tmp_path / "report", [unfinished])
    first = make_run(tmp_path / "b", "dqn", CARTPOLE, 0, [(1000, 1.0)])
    second = make_run(tmp_path / "c", "dqn", CARTPOLE, 0, [(1000, 2.0)])
    with pytest.raises(RlboxError, match="several runs of dqn on CartPole-v1 with seed 0"):
        write_comparison(tmp_path / "report", [first, second])


def test_runs_made_with_other_values_are_reported_apart(tmp_path):
    """A run made with another lr is a variant of its own, never one more seed of the other."""
    dirs = [
        make_run(tmp_path, "dqn", CARTPOLE, seed, [(1000, 10.0 * (1 + seed))], name=f"a{seed}")
        for seed in (0, 1)
    ]
    dirs.append(make_run(tmp_path, "dqn", CARTPOLE, 0, [(1000, 99.0)], lr=5e-4, name="b0"))
    report = write_comparison(tmp_path / "report", dirs)
    rows = {row.agent: (row.seeds, row.final_mean) for row in report.rows}
    assert rows == {"dqn [lr=0.001]": (2, 15.0), "dqn [lr=0.0005]": (1, 99.0)}
    results = pd.read_csv(report.results)
    assert set(results["agent"]) == {"dqn [lr=0.001]", "dqn [lr=0.0005]"}


def results_with_evals(steps):
    """results.csv rows: dqn and sb3-dqn on CartPole, two seeds, evaluated at `steps`."""
    rows = [
        {"agent": agent, "env": CARTPOLE, "seed": seed, "step": step,
         "eval_return_mean": base + seed + step / 1000, "eval_return_std": 1.0, "time": 1.0}
        for agent, base in (("dqn", 20.0), ("sb3-dqn", 30.0))
        for seed in (0, 1)
        for step in steps
    ]  # fmt: skip
    return pd.DataFrame(rows)


def tick_labels(ax):
    ax.figure.draw_without_rendering()
    return [t.get_text() for t in ax.get_xticklabels()]


@pytest.mark.parametrize("steps", [[10_000], [5_000, 10_000]], ids=["1 eval", "2 evals"])
def test_curves_with_few_evaluations_show_their_points_from_step_0(steps):
    """`rlbox compare ... --steps 10000` evaluates once or twice: the panel must not zoom in
    on 9,600-10,400 around a line through one invisible point."""
    (ax,) = plot_curves(results_with_evals(steps)).axes
    curves = [line for line in ax.lines if line.get_label() in ("dqn", "sb3-dqn")]
    assert [line.get_marker() for line in curves] == ["o", "o"]
    np.testing.assert_allclose(curves[0].get_xdata(), steps)
    low, high = ax.get_xlim()
    assert low == 0 and 10_000 <= high < 11_000
    assert ax.xaxis.get_major_formatter()(10_000, 0) == "10k"
    assert tick_labels(ax)[0] == "0" and "10k" in tick_labels(ax)
    # dqn's seeds are 1 apart (30 and 31 at the end): their spread is drawn, over one step too
    spread = ax.collections[0].get_datalim(ax.transData)
    assert (spread.y0, spread.y1) == pytest.approx((20 + steps[0] / 1000, 31.0))


@pytest.mark.parametrize(
    ("steps", "label"), [(500, "500"), (10_000, "10k"), (12_500, "12.5k"), (1_500_000, "1.5M")]
)
def test_step_counts_are_labelled_short(steps, label):
    assert step_label(steps) == label
