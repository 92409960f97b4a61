"""Downloading videos over HTTP(S) into a local cache keyed by URL, with timeouts and bounded retries.

A download streams to a temporary file in the cache folder and is renamed into place only when the
whole body arrived (the ``Content-Length`` is checked), so concurrent DataLoader workers and
interrupted runs never leave a truncated video behind. Client errors (404, 403, ...) fail at once;
timeouts, connection errors, truncated bodies and 408/429/5xx answers are retried with exponential
backoff up to ``attempts`` times. A URL that failed is not tried again by the same process (a
DataLoader worker meets it again in later epochs); a new run tries it afresh.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

_CHUNK = 1 << 20
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(Exception):
    """A URL could not be downloaded; ``reason`` says why (e.g. ``HTTP 404 Not Found``)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot download {url}: {reason}")
        self.url = url
        self.reason = reason


class _Transient(Exception):
    """A failure worth another attempt."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/cosmos-run/http`` (``~/.cache/cosmos-run/http``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cosmos-run" / "http"


class HttpCache:
    """``fetch(url)`` returns a local copy of ``url``, downloading it on first use.

    ``timeout_sec`` bounds connecting and every read (a stalled server), ``max_seconds`` one whole
    attempt (a server that trickles bytes); ``attempts`` counts the first try.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        timeout_sec: float = 30.0,
        attempts: int = 3,
        backoff_sec: float = 0.5,
        max_seconds: float = 600.0,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.directory = Path(directory)
        self.timeout_sec = timeout_sec
        self.attempts = attempts
        self.backoff_sec = backoff_sec
        self.max_seconds = max_seconds
        self._failed: dict[str, str] = {}

    def path_for(self, url: str) -> Path:
        """Where ``url`` is cached: a hash of the URL, keeping a short file extension for decoders."""
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:40]
        suffix = os.path.splitext(urllib.parse.urlparse(url).path)[1].lower()
        if not (1 < len(suffix) <= 6 and suffix[1:].isalnum()):
            suffix = ""
        return self.directory / f"{digest}{suffix}"

    def fetch(self, url: str) -> Path:
        """The cached file of ``url``; raises :class:`FetchError` when every attempt failed."""
        target = self.path_for(url)
        if target.is_file():
            return target
        if url in self._failed:
            raise FetchError(url, self._failed[url])
        try:
            return self._fetch(url, target)
        except FetchError as err:
            self._failed[url] = err.reason
            raise

    def _fetch(self, url: str, target: Path) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        last = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.backoff_sec * 2 ** (attempt - 1))
            try:
                self._download(url, target)
                return target
            except _Transient as err:
                last = str(err)
        raise FetchError(url, f"{last} (gave up after {self.attempts} attempts)")

    def _download(self, url: str, target: Path) -> None:
        partial = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
        deadline = time.monotonic() + self.max_seconds
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_sec) as response, open(partial, "wb") as out:
                expected = response.headers.get("Content-Length")
                received = 0
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    received += len(chunk)
                    if time.monotonic() > deadline:
                        raise _Transient(f"download took longer than {self.max_seconds:g} s")
            if expected is not None and expected.isdigit() and received != int(expected):
                raise _Transient(f"truncated body: got {received} of {expected} bytes")
            os.replace(partial, target)
        except urllib.error.HTTPError as err:
            reason = f"HTTP {err.code} {err.reason}"
            if err.code in _RETRY_STATUSES:
                raise _Transient(reason) from err
            raise FetchError(url, reason) from err
        except (OSError, http.client.HTTPException) as err:  # timeouts, refused connections, broken streams
            raise _Transient(_describe(err)) from err
        finally:
            if partial.exists():
                partial.unlink()


def _describe(err: Exception) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, Exception) else err
    if isinstance(err, TimeoutError):
        return "timed out"
    return f"{type(err).__name__}: {err}"
