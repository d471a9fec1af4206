"""Recorded episodes: frames from `render_mode="rgb_array"` written as MP4 (and GIF).

ffmpeg comes inside the imageio-ffmpeg wheel, so no system ffmpeg is needed. Files are written
under a temporary name and renamed, like every other file of a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rlbox.errors import MissingExtraError, RlboxError

# Classic control renders with pygame: no banner, and without a display no attempt to open one
# (SDL would print errors about XDG_RUNTIME_DIR and ALSA on a headless machine).
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")  # no sound is ever played; ALSA would complain
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def has_display() -> bool:
    return os.environ.get("SDL_VIDEODRIVER") != "dummy" and bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def check_video_support(env_id: str, env_options: Mapping[str, Any] | None = None) -> None:
    """Raise a one-line error unless frames of `env_id` (made with `env_options`, the run's
    `env.*` options) can be recorded here."""
    for module, package in (("imageio_ffmpeg", "imageio-ffmpeg"), ("pygame", "pygame")):
        try:
            __import__(module)
        except ImportError:
            raise MissingExtraError(package, "video") from None
    if "rgb_array" not in _metadata(env_id, env_options).get("render_modes", []):
        raise RlboxError(f"{env_id} cannot render rgb_array frames, so it cannot be recorded")


def render_fps(env_id: str, env_options: Mapping[str, Any] | None = None) -> int:
    """The frame rate `env_id` renders at, 30 if it does not say."""
    return int(_metadata(env_id, env_options).get("render_fps") or 30)


def _metadata(env_id: str, env_options: Mapping[str, Any] | None) -> dict[str, Any]:
    # the evaluation env, which the frames come from (and which knows `module:Env-v0` ids)
    from rlbox.envs import make_eval

    env = make_eval(env_id, **(env_options or {}))
    try:
        return dict(env.metadata)
    finally:
        env.close()


class EpisodeFiles:
    """Streams the frames of several episodes into MP4 (and GIF) files, one per episode, so a
    long episode is never held in memory; files appear under their names only once complete."""

    def __init__(self, directory: Path, fps: int, gif: bool = False) -> None:
        self.directory, self.fps, self.gif = directory, fps, gif
        self._writers: dict[int, list] = {}
        self.paths: list[Path] = []

    def add(self, episode: int, frame: np.ndarray) -> None:
        import imageio.v2 as imageio

        if episode not in self._writers:
            self.directory.mkdir(parents=True, exist_ok=True)
            writers = [imageio.get_writer(
                self._tmp(episode, ".mp4"), format="FFMPEG", fps=self.fps, macro_block_size=1
            )]  # fmt: skip
            if self.gif:
                writers.append(imageio.get_writer(
                    self._tmp(episode, ".gif"), format="GIF", mode="I", duration=1000 / self.fps,
                    loop=0,
                ))  # fmt: skip
            self._writers[episode] = writers
        mp4, *gif = self._writers[episode]
        mp4.append_data(frame)
        for writer in gif:
            writer.append_data(frame[::2, ::2])  # half size: GIFs are large

    def close(self) -> list[Path]:
        for episode in sorted(self._writers):
            for writer, suffix in zip(self._writers[episode], (".mp4", ".gif"), strict=False):
                writer.close()
                path = self.directory / f"episode-{episode}{suffix}"
                os.replace(self._tmp(episode, suffix), path)
                self.paths.append(path)
        self._writers.clear()
        return self.paths

    def _tmp(self, episode: int, suffix: str) -> Path:
        return self.directory / f".episode-{episode}.tmp{suffix}"


def write_mp4(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """H.264 MP4 of `frames` (H x W x 3 uint8), at `fps`."""
    import imageio.v2 as imageio

    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    # macro_block_size=1 keeps the frame size (else it is rounded up to a multiple of 16)
    imageio.mimwrite(tmp, frames, fps=fps, macro_block_size=1, format="FFMPEG")
    os.replace(tmp, path)
    return path


def write_gif(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    import imageio.v3 as iio

    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=1000 / fps, loop=0)
    os.replace(tmp, path)
    return path
