"""Frames → H.264 mp4 with the bundled ffmpeg; segments joined without re-encoding.

Raw rgb24 frames go through a pipe straight into ffmpeg: no image files in
between. Every flag that could make the bytes depend on the machine is pinned
(encoder threads, bitexact muxing, no creation time), so the same frames give
the same file, which is what lets `drivestats verify` re-make a movie job.
The id of the job that made a file is written into it (mp4 comment tag, PNG
text chunk; drivestats.provenance reads them) so `drivestats show FILE` can name its maker.
"""

from __future__ import annotations

import errno
import io
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from drivestats import provenance
from drivestats.errors import DrivestatsError

PRESET = "veryfast"
CRF = 18
X264_THREADS = 1  # fixed: x264's output depends on its thread count; workers give parallelism
_PIPE_BYTES = 1 << 20
_BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1"]


def ffmpeg() -> str:
    """The path of the ffmpeg that ships with imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def encoder_command(path: Path, width: int, height: int, fps: int, comment: str) -> list[str]:
    """The ffmpeg command that reads raw rgb24 frames on stdin and writes an H.264 mp4."""
    return [
        ffmpeg(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height}",
        "-framerate",
        str(fps),
        "-i",
        "pipe:0",
        "-an",
        # Tag and convert as BT.709, so browsers show the greys and reds we drew.
        "-vf",
        "scale=out_color_matrix=bt709:out_range=tv:flags=bitexact+accurate_rnd,format=yuv420p,"
        "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
        "-c:v",
        "libx264",
        "-preset",
        PRESET,
        "-crf",
        str(CRF),
        "-threads",
        str(X264_THREADS),
        *_mp4_output(path, comment),
    ]


def _mp4_output(path: Path, comment: str) -> list[str]:
    """The output half of every ffmpeg command here: reproducible, tagged, playable while loading."""
    return [
        *_BITEXACT,
        "-metadata",
        f"comment={comment}",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(path),
    ]


class Encoder:
    """An ffmpeg process taking frames one by one; closing it finishes the file."""

    def __init__(self, path: Path, width: int, height: int, fps: int, comment: str):
        self.path = path
        self.shape = (height, width, 3)
        self._errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            encoder_command(path, width, height, fps, comment),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._errors,
        )
        _widen_pipe(self.process.stdin)

    def write(self, frame: np.ndarray) -> None:
        """Send one frame (height x width x 3 uint8, C-contiguous)."""
        if frame.shape != self.shape or frame.dtype != np.uint8:
            raise ValueError(f"frame of shape {frame.shape} {frame.dtype}, expected {self.shape}")
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            self.close()
            raise DrivestatsError(f"ffmpeg stopped while encoding {self.path}") from None

    def close(self) -> None:
        """Finish the file; raises if ffmpeg failed."""
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        code = self.process.wait()
        self._errors.seek(0)
        message = self._errors.read().decode(errors="replace").strip()
        self._errors.close()
        if code != 0:
            raise _failure(self.path, message, f"ffmpeg failed ({code}) writing {self.path}")

    def abort(self) -> None:
        """Stop ffmpeg without finishing the file."""
        self.process.kill()
        self.process.wait()
        self._errors.close()

    def __enter__(self) -> Encoder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def concat(segments: list[Path], path: Path, comment: str) -> None:
    """Join mp4 segments with the concat demuxer, copying the streams (no re-encoding)."""
    with tempfile.TemporaryDirectory(prefix="drivestats-concat-") as folder:
        listing = Path(folder) / "segments.txt"
        listing.write_text("".join(f"file '{_quoted(p)}'\n" for p in segments))
        command = [
            ffmpeg(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-c",
            "copy",
            *_mp4_output(path, comment),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise _failure(path, done.stderr, f"ffmpeg could not join segments into {path}")


def _failure(path: Path, message: str, what: str) -> Exception:
    """ffmpeg's failure as the error a user can act on: a full disk is an OSError like others."""
    if "No space left on device" in message:
        return OSError(errno.ENOSPC, "No space left on device", str(path))
    return DrivestatsError(f"{what}: {message.strip()[-500:]}")


def png_bytes(frame: np.ndarray, job_id: str) -> bytes:
    """A frame as PNG with the making job's id in a text chunk."""
    info = PngInfo()
    info.add_text(provenance.JOB_KEY, job_id)
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG", pnginfo=info, compress_level=6)
    return buffer.getvalue()


def _quoted(path: Path) -> str:
    # The concat demuxer's quoting: a single quote is closed, escaped and reopened.
    return str(path.resolve()).replace("'", "'\\''")


def _widen_pipe(stream: object) -> None:
    """Ask Linux for a 1 MiB pipe buffer: fewer wake-ups per 6 MB frame."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), 1031, _PIPE_BYTES)  # type: ignore[attr-defined]  # F_SETPIPE_SZ
    except (ImportError, OSError, AttributeError):
        pass
