"""fetch and update against a local HTTP server: full, resumed, corrupt, missing, future, skipped."""

from __future__ import annotations

import datetime as dt
import io
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from drivestats.backblaze import fetch
from drivestats.backblaze.fetch import (
    CorruptDownloadError,
    DownloadError,
    NotPublishedError,
    Period,
    download,
    last_finished_period,
    period_url,
    periods_between,
    periods_named,
    requested_periods,
)
from drivestats.cli import cli
from drivestats.errors import DrivestatsError

HEADER = "date,serial_number,model,capacity_bytes,failure,smart_1_normalized,smart_1_raw"


def backblaze_zip(folder: str, days: list[str]) -> bytes:
    """A small zip in Backblaze's packaging: one CSV member per day inside a folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for day in days:
            rows = [HEADER] + [
                f"{day},SN{n:05d},ST4000DM000,4000787030016,{int(n == 7 and day == days[-1])},"
                f"{100 - n % 5},{n * 1234 + len(day)}"
                for n in range(40)
            ]
            archive.writestr(f"{folder}/{day}.csv", "\n".join(rows) + "\n")
    return buffer.getvalue()


@dataclass
class Mirror:
    """What the test server serves and how it misbehaves; it records every request."""

    files: dict[str, bytes] = field(default_factory=dict)
    drop_after: int | None = None  # cut the next response after this many body bytes
    corrupt: bool = False
    ignore_range: bool = False
    stall_after: int | None = None  # send this many body bytes of the next response, then hang
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""

    def ranges(self) -> list[str | None]:
        return [requested_range for _, requested_range in self.requests]


class MirrorHandler(BaseHTTPRequestHandler):
    mirror: Mirror

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        name = self.path.rsplit("/", 1)[-1]
        requested_range = self.headers.get("Range")
        self.mirror.requests.append((name, requested_range))
        body = self.mirror.files.get(name)
        if body is None:
            self.send_error(404)
            return
        if self.mirror.corrupt:
            body = corrupted(body)
        start = 0
        if requested_range and not self.mirror.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", requested_range).group(1))  # type: ignore[union-attr]
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        if self.mirror.drop_after is not None:
            payload, self.mirror.drop_after = payload[: self.mirror.drop_after], None
        if self.mirror.stall_after is not None:
            payload, self.mirror.stall_after = payload[: self.mirror.stall_after], None
            self.wfile.write(payload)
            self.wfile.flush()
            time.sleep(1.0)
            return
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def corrupted(body: bytes) -> bytes:
    """The same zip with bytes flipped inside the first member's compressed data."""
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        first = archive.infolist()[0]
    data_start = first.header_offset + 30 + len(first.filename.encode()) + 10
    flipped = bytes(b ^ 0xFF for b in body[data_start : data_start + 16])
    return body[:data_start] + flipped + body[data_start + 16 :]


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    state = Mirror()
    handler = type("Handler", (MirrorHandler,), {"mirror": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/file/Backblaze-Hard-Drive-Data"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "RETRY_DELAY_SECONDS", 0.0)
    monkeypatch.setattr(fetch, "TIMEOUT_SECONDS", 5.0)


Q2_2021 = backblaze_zip("data_Q2_2021", ["2021-04-01", "2021-04-02", "2021-04-03"])
Y2014 = backblaze_zip("2014", ["2014-01-01", "2014-01-02"])


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, [*args, "--home", str(home)])


# --- periods ------------------------------------------------------------------


def test_file_names_follow_backblaze() -> None:
    assert Period(2013).file_name == "data_2013.zip"
    assert Period(2016, 1).file_name == "data_Q1_2016.zip"
    assert period_url(Period(2021, 2)) == (
        "https://f001.backblazeb2.com/file/Backblaze-Hard-Drive-Data/data_Q2_2021.zip"
    )
    assert period_url(Period(2014), "http://mirror/x/") == "http://mirror/x/data_2014.zip"


def test_labels_name_files() -> None:
    assert periods_named("2021Q2") == periods_named("Q2_2021") == [Period(2021, 2)]
    assert periods_named("data_Q2_2021.zip") == periods_named("2021-q2") == [Period(2021, 2)]
    assert periods_named("2014") == periods_named("2014Q3") == [Period(2014)]
    assert periods_named("2019") == [Period(2019, q) for q in range(1, 5)]
    for bad in ("2012", "2021Q5", "yesterday"):
        with pytest.raises(DrivestatsError):
            periods_named(bad)


def test_last_finished_period_is_the_quarter_before_today() -> None:
    assert last_finished_period(dt.date(2026, 5, 10)) == Period(2026, 1)
    assert last_finished_period(dt.date(2026, 4, 1)) == Period(2026, 1)
    assert last_finished_period(dt.date(2026, 3, 31)) == Period(2025, 4)
    assert last_finished_period(dt.date(2016, 2, 1)) == Period(2015)


def test_periods_between_switch_from_years_to_quarters() -> None:
    periods = periods_between(Period(2013), Period(2017, 2))
    assert [p.label for p in periods] == [
        "2013", "2014", "2015", "2016Q1", "2016Q2", "2016Q3", "2016Q4", "2017Q1", "2017Q2"
    ]  # fmt: skip


def test_requested_periods_refuse_the_future() -> None:
    today = dt.date(2021, 8, 1)
    assert requested_periods(["2021Q2", "2014", "2021Q2"], today=today) == [
        Period(2014),
        Period(2021, 2),
    ]
    assert requested_periods(since="2020Q3", today=today)[0] == Period(2020, 3)
    assert len(requested_periods(everything=True, today=today)) == 3 + 5 * 4 + 2
    with pytest.raises(DrivestatsError, match="not published yet"):
        requested_periods(["2021Q3"], today=today)
    with pytest.raises(DrivestatsError, match="not published yet"):
        requested_periods(["2021"], today=today)
    with pytest.raises(DrivestatsError, match="name the periods"):
        requested_periods([], today=today)


# --- fetch ------------------------------------------------------------------------


def test_fetch_downloads_a_whole_file(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021, "data_2014.zip": Y2014}
    result = run(tmp_path, "fetch", "2021Q2", "2014", "--base-url", mirror.url, "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "data_Q2_2021.zip").read_bytes() == Q2_2021
    assert (tmp_path / "data" / "data_2014.zip").read_bytes() == Y2014
    assert not list((tmp_path / "data").glob("*.part"))
    assert "downloaded data_Q2_2021.zip" in result.output


def test_a_cut_transfer_resumes_with_a_range_request(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    mirror.drop_after = len(Q2_2021) // 2
    seen: list[tuple[int, int | None]] = []
    target = tmp_path / "data_Q2_2021.zip"
    download(f"{mirror.url}/data_Q2_2021.zip", target, lambda d, t: seen.append((d, t)))
    assert target.read_bytes() == Q2_2021
    assert mirror.ranges() == [None, f"bytes={len(Q2_2021) // 2}-"]
    assert seen[-1] == (len(Q2_2021), len(Q2_2021))


def test_a_cut_transfer_is_kept_and_resumed_next_run(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    mirror.drop_after = half = len(Q2_2021) // 2
    monkeypatch.setattr(fetch, "ATTEMPTS", 1)
    first = run(tmp_path, "fetch", "2021Q2", "--base-url", mirror.url, "-q")
    assert first.exit_code == 1
    assert "run again to resume" in first.output and "Traceback" not in first.output
    part = tmp_path / "data" / "data_Q2_2021.zip.part"
    assert part.read_bytes() == Q2_2021[:half]
    assert not (tmp_path / "data" / "data_Q2_2021.zip").exists()

    second = run(tmp_path, "fetch", "2021Q2", "--base-url", mirror.url, "-q")
    assert second.exit_code == 0, second.output
    assert mirror.requests[-1] == ("data_Q2_2021.zip", f"bytes={half}-")
    assert (tmp_path / "data" / "data_Q2_2021.zip").read_bytes() == Q2_2021
    assert not part.exists()


def test_a_stalled_transfer_times_out_and_resumes(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "TIMEOUT_SECONDS", 0.2)
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    mirror.stall_after = 1000
    download(f"{mirror.url}/data_Q2_2021.zip", tmp_path / "data_Q2_2021.zip")
    assert (tmp_path / "data_Q2_2021.zip").read_bytes() == Q2_2021
    assert mirror.ranges() == [None, "bytes=1000-"]


def test_a_complete_part_file_is_finished_without_new_bytes(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    (tmp_path / "data_Q2_2021.zip.part").write_bytes(Q2_2021)
    download(f"{mirror.url}/data_Q2_2021.zip", tmp_path / "data_Q2_2021.zip")
    assert (tmp_path / "data_Q2_2021.zip").read_bytes() == Q2_2021
    assert mirror.ranges() == [f"bytes={len(Q2_2021)}-"]


def test_a_server_that_ignores_range_rewrites_the_file(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    mirror.ignore_range = True
    (tmp_path / "data_Q2_2021.zip.part").write_bytes(Q2_2021[:100])
    download(f"{mirror.url}/data_Q2_2021.zip", tmp_path / "data_Q2_2021.zip")
    assert (tmp_path / "data_Q2_2021.zip").read_bytes() == Q2_2021


def test_a_corrupt_download_is_not_kept(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    mirror.corrupt = True
    result = run(tmp_path, "fetch", "2021Q2", "--base-url", mirror.url, "-q")
    assert result.exit_code == 1
    assert "corrupt" in result.output and "Traceback" not in result.output
    assert not list((tmp_path / "data").iterdir())

    mirror.corrupt = False
    again = run(tmp_path, "fetch", "2021Q2", "--base-url", mirror.url, "-q")
    assert again.exit_code == 0, again.output
    assert (tmp_path / "data" / "data_Q2_2021.zip").read_bytes() == Q2_2021


def test_a_stale_part_file_is_downloaded_afresh(mirror: Mirror, tmp_path: Path) -> None:
    # a part left from an older version of the file: resuming it gives a corrupt zip
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    (tmp_path / "data_Q2_2021.zip.part").write_bytes(Y2014[:300])
    download(f"{mirror.url}/data_Q2_2021.zip", tmp_path / "data_Q2_2021.zip")
    assert (tmp_path / "data_Q2_2021.zip").read_bytes() == Q2_2021
    assert mirror.ranges() == ["bytes=300-", None]


def test_corruption_is_an_error_from_the_library(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    mirror.corrupt = True
    with pytest.raises(CorruptDownloadError):
        download(f"{mirror.url}/data_Q2_2021.zip", tmp_path / "data_Q2_2021.zip")
    assert not list(tmp_path.iterdir())


def test_a_missing_file_is_a_clear_error(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_2014.zip": Y2014}
    result = run(tmp_path, "fetch", "2016Q1", "2014", "--base-url", mirror.url, "-q")
    assert result.exit_code == 1
    assert "404" in result.output and "not fetched" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert (tmp_path / "data" / "data_2014.zip").exists()  # the rest still came
    with pytest.raises(NotPublishedError):
        download(f"{mirror.url}/data_Q1_2016.zip", tmp_path / "x.zip")


def test_a_future_period_is_refused_before_any_request(mirror: Mirror, tmp_path: Path) -> None:
    this_quarter = f"{dt.date.today().year}Q{(dt.date.today().month - 1) // 3 + 1}"
    for label in ("2099Q1", this_quarter):
        result = run(tmp_path, "fetch", label, "--base-url", mirror.url)
        assert result.exit_code == 1
        assert "not published yet" in result.output and "Traceback" not in result.output
    assert mirror.requests == []


def test_complete_files_are_skipped(mirror: Mirror, tmp_path: Path) -> None:
    mirror.files = {"data_Q2_2021.zip": Q2_2021}
    assert run(tmp_path, "fetch", "2021Q2", "--base-url", mirror.url, "-q").exit_code == 0
    result = run(tmp_path, "fetch", "2021Q2", "--base-url", mirror.url, "-q")
    assert result.exit_code == 0
    assert "1 file(s) already complete" in result.output
    assert len(mirror.requests) == 1


def test_network_failures_retry_with_backoff_then_stop(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delays: list[float] = []
    with pytest.raises(DownloadError, match="after 3 attempts"):
        download(
            f"http://127.0.0.1:{port}/data_2014.zip",
            tmp_path / "data_2014.zip",
            attempts=3,
            retry_delay=0.5,
            sleep=delays.append,
        )
    assert delays == [0.5, 1.0]
    assert not list(tmp_path.iterdir())


def test_fetch_network_failure_is_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(tmp_path, "fetch", "2014", "--base-url", f"http://127.0.0.1:{port}", "-q")
    assert result.exit_code == 1
    assert "could not download" in result.output and "Traceback" not in result.output


# --- update -------------------------------------------------------------------------


def test_update_fetches_what_is_missing_then_imports_only_what_is_new(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.files = {"data_2014.zip": Y2014, "data_Q2_2021.zip": Q2_2021}
    expected = periods_between(Period(2013), last_finished_period())
    first = run(tmp_path, "update", "--base-url", mirror.url, "-q")
    assert first.exit_code == 0, first.output
    assert sorted(name for name, _ in mirror.requests) == sorted(p.file_name for p in expected)
    assert "missing 2013:" in first.output and "missing 2021Q1:" in first.output
    assert "imported data_2014.zip: 2 days, 80 rows" in first.output
    assert "imported data_Q2_2021.zip: 3 days, 120 rows" in first.output
    assert "2 source(s) imported, 0 already imported" in first.output
    assert (tmp_path / "store" / "months" / "2021" / "2021-04.parquet").exists()

    mirror.requests.clear()
    second = run(tmp_path, "update", "--base-url", mirror.url, "-q")
    assert second.exit_code == 0, second.output
    assert "0 source(s) imported, 2 already imported" in second.output
    assert "data_2014.zip" not in [name for name, _ in mirror.requests]

    mirror.files["data_2013.zip"] = backblaze_zip("2013", ["2013-04-10"])
    third = run(tmp_path, "update", "--base-url", mirror.url, "-q")
    assert "imported data_2013.zip: 1 day, 40 rows" in third.output
    assert "1 source(s) imported, 2 already imported" in third.output


def test_update_stops_at_the_last_finished_quarter(mirror: Mirror, tmp_path: Path) -> None:
    run(tmp_path, "update", "--base-url", mirror.url, "-q")
    asked = {name for name, _ in mirror.requests}
    last = last_finished_period()
    assert last.file_name in asked
    assert fetch.following_period(last).file_name not in asked


def test_update_never_imports_a_half_download(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror.files = {"data_2014.zip": Y2014}
    mirror.drop_after = len(Y2014) // 2
    monkeypatch.setattr(fetch, "ATTEMPTS", 1)
    result = run(tmp_path, "update", "--base-url", mirror.url, "-q")
    assert result.exit_code == 1 and "could not download" in result.output
    assert (tmp_path / "data" / "data_2014.zip.part").exists()
    assert not (tmp_path / "store" / "months" / "2014").exists()


def test_update_goes_on_past_a_corrupt_file_but_fails_at_the_end(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.files = {"data_2014.zip": b"PK\x03\x04 not really a zip", "data_Q2_2021.zip": Q2_2021}
    result = run(tmp_path, "update", "--base-url", mirror.url, "-q")
    assert result.exit_code == 1
    assert "corrupt 2014:" in result.output and "Traceback" not in result.output
    assert "imported data_Q2_2021.zip" in result.output
    assert not (tmp_path / "data" / "data_2014.zip").exists()
    assert not (tmp_path / "data" / "data_2014.zip.part").exists()


def test_a_second_download_of_the_same_file_refuses_while_the_first_runs(tmp_path):
    import fcntl

    from drivestats.backblaze import fetch

    destination = tmp_path / "data_Q1_2016.zip"
    lock = destination.with_name(f".{destination.name}.lock")
    with open(lock, "a") as held:  # another process is downloading it
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(fetch.DownloadError, match="being downloaded by another"):
            fetch.download("http://127.0.0.1:9/never-asked", destination)
    assert not fetch.partial_path(destination).exists()
