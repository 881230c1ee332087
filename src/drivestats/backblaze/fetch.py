"""Download Backblaze's published zips into the workspace: resumable, retried, verified.

Backblaze bundles the daily files per year for 2013 to 2015 (``data_2013.zip``)
and per quarter from 2016 (``data_Q1_2016.zip``). A file is only called complete
once its zip central directory and CRCs check out; until then it lives under a
``.part`` name, so nothing half-downloaded is ever imported.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import http.client
import os
import re
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivestats import __version__
from drivestats.errors import DrivestatsError
from drivestats.workspace import Workspace

BASE_URL = "https://f001.backblazeb2.com/file/Backblaze-Hard-Drive-Data"
FIRST_YEAR = 2013
FIRST_QUARTERLY_YEAR = 2016
CHUNK_BYTES = 1 << 20
PROGRESS_BYTES = 1 << 20
TIMEOUT_SECONDS = 60.0
# read at call time, so tests can shrink them
ATTEMPTS = 4
RETRY_DELAY_SECONDS = 2.0
PART_SUFFIX = ".part"

Progress = Callable[[int, int | None], None]
FileProgress = Callable[[str, int, int | None], None]


class NotPublishedError(DrivestatsError):
    """The server has no such file (HTTP 404)."""


class DownloadError(DrivestatsError):
    """The network kept failing, or the server refused for a reason other than 404."""


class CorruptDownloadError(DrivestatsError):
    """A download arrived whole but is not a valid zip; it has been deleted."""


class _Interrupted(Exception):
    """A transfer broke off in a way worth retrying (dropped, timed out, server busy)."""


# --- periods ------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Period:
    """One published file: a year (quarter 0, 2013 to 2015) or a quarter (from 2016)."""

    year: int
    quarter: int = 0

    @property
    def label(self) -> str:
        return f"{self.year}" if self.quarter == 0 else f"{self.year}Q{self.quarter}"

    @property
    def file_name(self) -> str:
        if self.quarter == 0:
            return f"data_{self.year}.zip"
        return f"data_Q{self.quarter}_{self.year}.zip"

    def __str__(self) -> str:
        return self.label


FIRST_PERIOD = Period(FIRST_YEAR)

_LABEL = re.compile(
    r"^(?:data_)?(?:(?P<y1>\d{4})[-_ ]?q(?P<q1>[1-4])|q(?P<q2>[1-4])[-_ ]?(?P<y2>\d{4})|(?P<y3>\d{4}))"
    r"(?:\.zip)?$",
    re.IGNORECASE,
)


def period_containing(year: int, quarter: int) -> Period:
    """The published file that holds a quarter (the yearly file before 2016)."""
    return Period(year) if year < FIRST_QUARTERLY_YEAR else Period(year, quarter)


def periods_named(text: str) -> list[Period]:
    """The files a label names: ``2021Q2``, ``Q2_2021``, ``2014``, or ``2021`` (its four quarters)."""
    match = _LABEL.match(text.strip())
    if not match:
        raise DrivestatsError(
            f"cannot read period {text!r}: write a quarter like 2021Q2 or a year like 2014"
        )
    year = int(match["y1"] or match["y2"] or match["y3"])
    if year < FIRST_YEAR:
        raise DrivestatsError(f"{text}: Backblaze's data starts in {FIRST_YEAR}")
    quarter = match["q1"] or match["q2"]
    if quarter:
        return [period_containing(year, int(quarter))]
    if year < FIRST_QUARTERLY_YEAR:
        return [Period(year)]
    return [Period(year, q) for q in range(1, 5)]


def following_period(period: Period) -> Period:
    """The file published after this one."""
    if period.quarter == 0:
        return period_containing(period.year + 1, 1)
    if period.quarter == 4:
        return Period(period.year + 1, 1)
    return Period(period.year, period.quarter + 1)


def last_finished_period(today: dt.date | None = None) -> Period:
    """The newest period that has ended by today (a quarter is published only after it ends)."""
    today = today or dt.date.today()
    quarter = (today.month - 1) // 3  # the quarter before today's, 0 meaning last year's Q4
    year = today.year if quarter else today.year - 1
    return period_containing(year, quarter or 4)


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every published period from first through last, oldest first."""
    periods = []
    period = first
    while period <= last:
        periods.append(period)
        period = following_period(period)
    return periods


def requested_periods(
    labels: Iterable[str] = (),
    since: str | None = None,
    everything: bool = False,
    today: dt.date | None = None,
) -> list[Period]:
    """The periods a user asked for, sorted; periods not yet finished are refused."""
    last = last_finished_period(today)
    chosen: set[Period] = set()
    for label in labels:
        chosen.update(periods_named(label))
    if since:
        chosen.update(periods_between(periods_named(since)[0], last))
    if everything:
        chosen.update(periods_between(FIRST_PERIOD, last))
    if not (labels or since or everything):
        raise DrivestatsError("name the periods to fetch (e.g. 2021Q2 2014), or --since, or --all")
    future = sorted(period for period in chosen if period > last)
    if future:
        names = ", ".join(map(str, future))
        raise DrivestatsError(
            f"{names} not published yet: a period is published only after it ends "
            f"(the last finished one is {last})"
        )
    return sorted(chosen)


def period_url(period: Period, base_url: str = BASE_URL) -> str:
    """Where a period's zip is downloaded from."""
    return f"{base_url.rstrip('/')}/{period.file_name}"


# --- one download ----------------------------------------------------------------


def partial_path(destination: Path) -> Path:
    """The temporary name a download is written under until it is complete and verified."""
    return destination.with_name(destination.name + PART_SUFFIX)


_UNREADABLE_ZIP = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
)


def zip_problem(path: Path) -> str | None:
    """Why a file is not a whole zip, or None when its central directory and CRCs check out."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad_member = archive.testzip()
    except _UNREADABLE_ZIP as error:
        return f"not a readable zip ({error})"
    if bad_member is not None:
        return f"member {bad_member} fails its CRC check"
    return None


def download(
    url: str,
    destination: Path,
    on_progress: Progress | None = None,
    *,
    attempts: int | None = None,
    retry_delay: float | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    timeout: float | None = None,
) -> Path:
    """The destination, once the zip at url is there whole and verified; resumes a .part file.

    Two downloads of the same file never write one .part at once: the second refuses.
    """
    partial = partial_path(destination)
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    destination.parent.mkdir(parents=True, exist_ok=True)

    def transfer() -> None:
        _transfer_with_retries(url, partial, on_progress, attempts, retry_delay, sleep, timeout)

    with _exclusive(destination):
        resumed = partial.exists() and partial.stat().st_size > 0
        transfer()
        problem = zip_problem(partial)
        if problem and resumed:
            # the file may have changed on the server since the first part came; start afresh once
            partial.unlink()
            transfer()
            problem = zip_problem(partial)
        if problem:
            partial.unlink()
            raise CorruptDownloadError(
                f"{destination.name} from {url} is corrupt: {problem}; it was deleted, try again"
            )
        os.replace(partial, destination)
    return destination


@contextmanager
def _exclusive(destination: Path) -> Iterator[None]:
    """Hold a lock file beside the destination for the download; removed when done."""
    lock = destination.with_name(f".{destination.name}.lock")
    while True:
        handle = open(lock, "a")  # closed below, once the lock is released
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise DownloadError(
                f"{destination.name} is being downloaded by another drivestats process; "
                "wait for it, or stop it first"
            ) from None
        # The holder before us may have removed the file after we opened it: lock the one on disk.
        try:
            if os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()


def _transfer_with_retries(
    url: str,
    partial: Path,
    on_progress: Progress | None,
    attempts: int | None,
    retry_delay: float | None,
    sleep: Callable[[float], Any],
    timeout: float,
) -> None:
    attempts = ATTEMPTS if attempts is None else attempts
    retry_delay = RETRY_DELAY_SECONDS if retry_delay is None else retry_delay
    failures = 0
    while True:
        before = _size(partial)
        try:
            _transfer(url, partial, on_progress, timeout)
            return
        except _Interrupted as error:
            if _size(partial) > before:
                failures = 0  # it moved forward: a flaky line, not a dead one
            failures += 1
            if failures >= attempts:
                kept = _size(partial)
                resume = f"; {kept / 1e6:,.1f} MB kept, run again to resume" if kept else ""
                raise DownloadError(
                    f"could not download {url} after {attempts} attempts: {error}{resume}"
                ) from None
            sleep(retry_delay * 2 ** (failures - 1))


def _transfer(url: str, partial: Path, on_progress: Progress | None, timeout: float) -> None:
    """Append the rest of url to partial (or rewrite it if the server ignores the Range)."""
    offset = _size(partial)
    headers = {"User-Agent": f"drivestats/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 404:
            raise NotPublishedError(
                f"{url} does not exist (HTTP 404): not published yet, or not on this server"
            ) from None
        if error.code == 416 and offset:
            if _content_range(error.headers.get("Content-Range")) == (None, offset):
                return  # the part already holds the whole file
            partial.unlink()
            raise _Interrupted("the partial file does not match the server's; restarting") from None
        if error.code in (408, 429) or error.code >= 500:
            raise _Interrupted(f"HTTP {error.code} {error.reason}") from None
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        raise _Interrupted(_reason(error)) from None
    with response:
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                partial.unlink()
                raise _Interrupted("the server answered a different range; restarting")
            mode = "ab"
        else:
            offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        _copy(response, partial, mode, offset, total, on_progress)


def _copy(
    response: http.client.HTTPResponse,
    partial: Path,
    mode: str,
    done: int,
    total: int | None,
    on_progress: Progress | None,
) -> None:
    if on_progress:
        on_progress(done, total)
    reported = done
    try:
        with partial.open(mode) as out:
            while True:
                try:
                    # read1 hands over what has arrived, so a stall loses nothing already received
                    chunk = response.read1(CHUNK_BYTES)
                except (http.client.HTTPException, OSError) as error:
                    raise _Interrupted(_reason(error)) from None
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if on_progress and done - reported >= PROGRESS_BYTES:
                    on_progress(done, total)
                    reported = done
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        raise DrivestatsError(f"cannot write {partial}: {error}") from None
    if on_progress and done != reported:
        on_progress(done, total)
    if total is not None and done < total:
        raise _Interrupted(f"connection closed at {done:,} of {total:,} bytes")


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) from a Content-Range header; None where absent or '*'."""
    match = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", header or "")
    if not match:
        return None, None
    start, total = match.groups()
    return (int(start) if start else None), (int(total) if total and total != "*" else None)


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    return str(reason) or type(error).__name__


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


# --- many periods ------------------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """What happened to one period: downloaded, already present, not published, or corrupt."""

    period: Period
    path: Path
    status: str  # "downloaded", "present", "missing" or "corrupt"
    message: str = ""


@dataclass
class FetchReport:
    """The outcome of fetching a list of periods."""

    results: list[Fetched] = field(default_factory=list)

    def paths(self, *statuses: str) -> list[Path]:
        return [r.path for r in self.with_status(*statuses)]

    def with_status(self, *statuses: str) -> list[Fetched]:
        return [r for r in self.results if r.status in statuses]


def fetch_periods(
    workspace: Workspace,
    periods: Sequence[Period],
    base_url: str = BASE_URL,
    on_progress: FileProgress | None = None,
    **download_options: Any,
) -> FetchReport:
    """The report of fetching each period into the data folder.

    A 404 or a corrupt file is noted and the next period tried; a network that keeps
    failing raises DownloadError, since the periods after it would fail the same way.
    """
    report = FetchReport()
    for period in periods:
        destination = workspace.data / period.file_name
        if destination.exists():
            report.results.append(Fetched(period, destination, "present"))
            continue
        name = period.file_name

        def file_progress(done: int, total: int | None, name: str = name) -> None:
            if on_progress:
                on_progress(name, done, total)

        try:
            download(period_url(period, base_url), destination, file_progress, **download_options)
        except NotPublishedError as error:
            report.results.append(Fetched(period, destination, "missing", str(error)))
            continue
        except CorruptDownloadError as error:
            report.results.append(Fetched(period, destination, "corrupt", str(error)))
            continue
        report.results.append(Fetched(period, destination, "downloaded"))
    return report


def fetch_unfetched(
    workspace: Workspace,
    base_url: str = BASE_URL,
    on_progress: FileProgress | None = None,
    today: dt.date | None = None,
    **download_options: Any,
) -> FetchReport:
    """The report of fetching every period from 2013 through the last finished quarter."""
    periods = periods_between(FIRST_PERIOD, last_finished_period(today))
    return fetch_periods(workspace, periods, base_url, on_progress, **download_options)
