"""report.html on hand-written run directories: what the page holds, its errors, and how it
renders in a real headless browser (Debian's chromium driven by playwright)."""

import base64
import csv
import json
import re
import shutil
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from rlbox.errors import CheckpointError, RlboxError
from rlbox.report.html import _run_curves, write_html_report
from rlbox.report.tables import CI_NOTE
from rlbox.run import checkpoint

CARTPOLE = "CartPole-v1"
ARTIFACTS = Path(__file__).parent / "artifacts"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VIDEO_FRAMES, VIDEO_FPS = 20, 10


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    """A real 2-second H.264 MP4: a white square crossing a 64x96 black frame."""
    imageio = pytest.importorskip("imageio")
    pytest.importorskip("imageio_ffmpeg")
    frames = np.zeros((VIDEO_FRAMES, 64, 96, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        frame[24:40, 4 * i : 4 * i + 16] = 255
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    imageio.v2.mimwrite(path, frames, fps=VIDEO_FPS, macro_block_size=1)
    return path.read_bytes()


def make_run(root, agent, seed, final, *, finished=True, videos=None):
    """A run directory as the runner writes it, with evaluations at steps 100 and 200 (the last
    one `final`), checkpoints step-100, step-200 and best, and videos {step: mp4 bytes}."""
    run_dir = root / f"{agent}-{CARTPOLE}-s{seed}"
    run_dir.mkdir(parents=True)
    config = {
        "agent": agent,
        "env": CARTPOLE,
        "run": {"seed": seed, "steps": 200, "eval_every": 100},
        "hyperparams": {"lr": 0.001, "note": "a<b & c"},  # text that HTML must escape
    }
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    header = ["step", "time", "sps", "eval_return_mean", "eval_return_std", "eval_length_mean"]
    with (run_dir / "metrics.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*header, "loss", "epsilon", "episodes"])
        writer.writerow([50, 0.5, 100.0, "", "", "", 1.0, 0.9, 1])
        writer.writerow([100, 1.0, 100.0, final / 2, 1.0, 20.0, 0.5, 0.5, 3])
        writer.writerow([150, 1.5, 100.0, "", "", "", 0.4, 0.1, 5])
        writer.writerow([200, 2.0, 100.0, final, final / 10, 40.0, 0.3, 0.1, 6])
    for step in (100, 200):
        checkpoint.save(
            run_dir / "checkpoints" / f"step-{step}", {"w": torch.zeros(2)}, {"step": step}
        )
    best = {"step": 200, "eval_return_mean": final}
    checkpoint.save(run_dir / "checkpoints" / "best", {"w": torch.ones(2)}, best)
    for step, data in (videos or {}).items():
        (run_dir / "videos").mkdir(exist_ok=True)
        (run_dir / "videos" / f"step-{step}.mp4").write_bytes(data)
    if finished:
        result = {
            "run_dir": str(run_dir),
            "env_steps": 200,
            "eval_return_mean": final,
            "eval_return_std": final / 10,
            "train_seconds": 2.0,
        }
        (run_dir / "result.json").write_text(json.dumps(result))
    return run_dir


@pytest.fixture
def run_dir(tmp_path, mp4):
    # step 20 is recorded after step 100 here, to check that videos are sorted by step number.
    return make_run(tmp_path, "dqn", 0, 12.5, videos={100: mp4, 20: mp4})


def data_uris(page, mime):
    return [base64.b64decode(d) for d in re.findall(rf'src="data:{mime};base64,([^"]+)"', page)]


def test_run_page_inlines_config_results_checkpoints_curves_and_videos(run_dir, mp4):
    path = write_html_report(run_dir)
    assert path == run_dir / "report.html"
    raw = path.read_text()
    page = unescape(raw)
    assert "<title>dqn on CartPole-v1, seed 0</title>" in page
    assert (run_dir / "config.yaml").read_text() in page
    assert "a&lt;b &amp; c" in raw and "a<b" not in raw
    assert "<td>final eval return (mean ± std)</td><td>12.50 ± 1.25</td>" in page
    assert "<td>env steps</td><td>200</td>" in page
    assert "<td>training time (s)</td><td>2.0</td>" in page
    for row in ("step-100</td><td>100</td><td>", "step-200</td><td>200</td><td>"):
        assert row in page
    assert "<td>best</td><td>200</td><td>12.50</td>" in page
    (curves,) = data_uris(raw, "image/png")
    assert curves.startswith(PNG_MAGIC)
    assert data_uris(raw, "video/mp4") == [mp4, mp4]
    assert re.findall(r"<figcaption>(.*?)</figcaption>", page) == ["step 20", "step 100"]
    assert raw.isascii()
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "checkpoints",
        "config.yaml",
        "metrics.csv",
        "report.html",
        "result.json",
        "videos",
    ]  # and no temporary file left beside it
    assert write_html_report(run_dir).read_text() == raw  # rewriting replaces it


def test_curves_show_eval_return_then_each_training_metric(run_dir):
    figure = _run_curves(pd.read_csv(run_dir / "metrics.csv"))
    shown = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == [
        "eval return (mean ± std)",
        "loss",
        "epsilon",
        "episodes",
    ]
    np.testing.assert_allclose(shown[0].lines[0].get_xdata(), [100, 200])
    np.testing.assert_allclose(shown[0].lines[0].get_ydata(), [6.25, 12.5])
    np.testing.assert_allclose(shown[1].lines[0].get_xdata(), [50, 100, 150, 200])
    assert all(ax.get_xlabel() == "env steps" for ax in shown)
    (curves,) = data_uris(write_html_report(run_dir).read_text(), "image/png")
    width, height = int.from_bytes(curves[16:20], "big"), int.from_bytes(curves[20:24], "big")
    assert (width, height) == (3 * 450, 2 * 300)  # 4 panels, 3 to a row, at 100 dpi


def test_unfinished_run_page_says_so(tmp_path):
    run_dir = make_run(tmp_path, "dqn", 0, 12.5, finished=False)
    page = write_html_report(run_dir).read_text()
    assert "Unfinished: no result.json yet." in page
    assert "No recorded videos." in page and "<video" not in page
    assert "<td>best</td>" in page


def test_comparison_page_has_every_agent(tmp_path):
    runs = [
        make_run(tmp_path, "dqn", 0, 10.0),
        make_run(tmp_path, "dqn", 1, 20.0),
        make_run(tmp_path, "ppo", 0, 30.0),
        make_run(tmp_path, "ppo", 1, 5.0, finished=False),
    ]
    (tmp_path / "logs").mkdir()  # not a run directory
    raw = write_html_report(tmp_path).read_text()
    page = unescape(raw)
    assert "<title>dqn, ppo on CartPole-v1</title>" in page
    assert "<td>dqn</td><td>CartPole-v1</td><td>2</td><td>15.00 ± 5.00</td>" in page
    assert "<td>ppo</td><td>CartPole-v1</td><td>1</td><td>30.00 ± 0.00</td>" in page
    assert f"<caption>{CI_NOTE}</caption>" in page
    assert data_uris(raw, "image/png") == [(tmp_path / "curves.png").read_bytes()]
    for run, final in zip(runs[:3], ["10.00 ± 1.00", "20.00 ± 2.00", "30.00 ± 3.00"], strict=True):
        assert f"<td>{run.name}</td>" in page and final in page
    assert f"<td>{runs[3].name}</td><td>ppo</td><td>CartPole-v1</td><td>1</td>" in page
    assert f"Unfinished, left out of the summary: {runs[3].name}" in page
    assert {"results.csv", "summary.md", "curves.png", "report.html"} <= {
        p.name for p in tmp_path.iterdir()
    }


@pytest.mark.parametrize(
    ("checkpoint_name", "file_name", "damage"),
    [
        ("step-100", "state.safetensors", "truncate"),
        ("step-200", "meta.json", "delete"),
        ("best", "state.safetensors", "delete"),
        ("best", "meta.json", "truncate"),
    ],
)
def test_broken_checkpoint_raises_naming_the_file(tmp_path, checkpoint_name, file_name, damage):
    run_dir = make_run(tmp_path, "dqn", 0, 12.5)
    broken = run_dir / "checkpoints" / checkpoint_name / file_name
    if damage == "delete":
        broken.unlink()
    else:
        broken.write_bytes(broken.read_bytes()[:10])
    with pytest.raises(CheckpointError, match=re.escape(str(broken))):
        write_html_report(run_dir)
    assert not (run_dir / "report.html").exists()


@pytest.mark.parametrize("name", ["empty", "absent"])
def test_directory_that_is_neither_run_nor_comparison_raises(tmp_path, name):
    directory = tmp_path / name
    if name == "empty":
        directory.mkdir()
    with pytest.raises(RlboxError, match=re.escape(str(directory))):
        write_html_report(directory)


def test_page_renders_in_chromium_without_errors(run_dir):
    """The page as a reader sees it: no console or page errors, the curves image decodes, both
    videos load their metadata (Debian's chromium plays H.264), and a full-page screenshot is
    kept as tests/artifacts/report.png."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    chromium = shutil.which("chromium")
    if chromium is None or sync_playwright is None:
        pytest.skip("needs Debian's chromium package (apt-get install chromium) and playwright")
    url = write_html_report(run_dir).as_uri()
    errors = []
    screenshot = ARTIFACTS / "report.png"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=BROWSER_ARGS
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("requestfailed", lambda request: errors.append(f"failed: {request.url}"))
            page.goto(url)
            assert page.evaluate("document.querySelector('img').naturalWidth") == 3 * 450
            assert page.locator("video").count() == 2
            page.wait_for_function(
                "[...document.querySelectorAll('video')].every(v => v.readyState >= 1)",
                timeout=15_000,
            )
            durations = page.evaluate(
                "[...document.querySelectorAll('video')].map(v => v.duration)"
            )
            page.screenshot(path=screenshot, full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert durations == pytest.approx([VIDEO_FRAMES / VIDEO_FPS] * 2, abs=0.15)
    assert screenshot.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("evals", [1, 2, 5])
def test_curves_label_large_step_counts_short_on_every_panel(evals):
    """Eval steps 10000, 15000, ... printed in full ran into each other ("1000015000...")."""
    steps = np.arange(1_000, 5_000 * evals + 1, 1_000)
    evaluated = steps % 5_000 == 0
    metrics = pd.DataFrame(
        {
            "step": steps,
            "time": steps / 100,
            "sps": 100.0,
            "eval_return_mean": np.where(evaluated, steps / 1_000, np.nan),
            "eval_return_std": np.where(evaluated, 1.0, np.nan),
            "loss": np.linspace(1.0, 0.0, len(steps)),
        }
    )
    figure = _run_curves(metrics)
    figure.draw_without_rendering()
    shown = [ax for ax in figure.axes if ax.get_visible()]
    assert len(shown) == 2
    assert shown[0].lines[0].get_marker() == "o"
    for ax in shown:
        assert ax.get_xlim()[0] == 0
        assert ax.xaxis.get_major_formatter()(10_000, 0) == "10k"
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels[0] == "0" and all(len(label) <= 5 for label in labels), labels
