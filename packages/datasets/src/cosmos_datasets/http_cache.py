"""Downloading videos over HTTP(S) into a local cache keyed by URL, with timeouts and bounded retries.

A download streams to a temporary file in the cache folder and is renamed into place only when the
whole body arrived (the ``Content-Length`` is checked), so concurrent DataLoader workers and
interrupted runs never leave a truncated video behind. Client errors (404, 403, ...) fail at once;
timeouts, connection errors, truncated bodies and 408/429/5xx answers are retried with exponential
backoff up to ``attempts`` times. A URL that failed is not tried again by the same process (a
DataLoader worker meets it again in later epochs); a new run tries it afresh.

HTTPS servers are verified against the system's CA store, or against ``ca_bundle`` (a PEM file, for a
private CA or a company proxy). A certificate that fails verification, like any other TLS failure, is
not retried: the reason names the URL's host, what failed and the ``http_ca_bundle`` setting.

Cache file names are the SHA-256 of the URL plus a short ASCII extension taken from the URL's path,
so no URL (``..``, absolute paths, percent-encoding, query strings, very long or non-ASCII names) can
name a file outside the cache folder. Non-ASCII characters and spaces are percent-encoded before the
request, as browsers do.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

_CHUNK = 1 << 20
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_SAFE_IN_URL = "!#$%&'()*+,/:;=?@[]~"
"""Characters left as they are when a URL is percent-encoded for the request (RFC 3986 reserved, and %)."""


class CaBundleError(ValueError):
    """The configured CA bundle is missing or holds no usable certificate."""


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
    attempt (a server that trickles bytes); ``attempts`` counts the first try. ``ca_bundle`` is a PEM
    file of CA certificates to verify HTTPS servers with instead of the system's; it is checked here
    (:class:`CaBundleError`), and each process loads it again when it first needs it, so the cache can be
    sent to DataLoader workers started by spawn as well as fork.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        timeout_sec: float = 30.0,
        attempts: int = 3,
        backoff_sec: float = 0.5,
        max_seconds: float = 600.0,
        ca_bundle: str | os.PathLike[str] | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.ca_bundle = os.fspath(ca_bundle) if ca_bundle is not None else None
        self._context: ssl.SSLContext | None = None
        if self.ca_bundle is not None:
            _load_ca_bundle(self.ca_bundle)
        self.directory = Path(directory)
        self.timeout_sec = timeout_sec
        self.attempts = attempts
        self.backoff_sec = backoff_sec
        self.max_seconds = max_seconds
        self._failed: dict[str, str] = {}

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_context": None}  # an SSLContext does not pickle; each process makes its own

    def path_for(self, url: str) -> Path:
        """Where ``url`` is cached: a hash of the URL, keeping a short ASCII file extension for decoders."""
        digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        suffix = os.path.splitext(urllib.parse.urlsplit(url).path)[1].lower()
        if not (1 < len(suffix) <= 6 and suffix[1:].isascii() and suffix[1:].isalnum()):
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

    def _ssl_context(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = _load_ca_bundle(self.ca_bundle) if self.ca_bundle else ssl.create_default_context()
        return self._context

    def _download(self, url: str, target: Path) -> None:
        partial = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part")
        deadline = time.monotonic() + self.max_seconds
        request = urllib.parse.quote(url, safe=_SAFE_IN_URL, encoding="utf-8", errors="surrogatepass")
        try:
            opened = urllib.request.urlopen(request, timeout=self.timeout_sec, context=self._ssl_context())
            with opened as response, open(partial, "wb") as out:
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
        except (ValueError, http.client.InvalidURL) as err:  # a port out of range, control characters
            raise FetchError(url, f"not a valid URL ({err})") from err
        except (OSError, http.client.HTTPException) as err:  # timeouts, refused connections, broken streams
            tls = _tls_failure(url, err, self.ca_bundle)
            if tls is not None:
                raise FetchError(url, tls) from err
            raise _Transient(_describe(err)) from err
        finally:
            if partial.exists():
                partial.unlink()


def _load_ca_bundle(path: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise CaBundleError(f"CA bundle {path} does not exist") from None
    except (ssl.SSLError, OSError, ValueError) as err:
        raise CaBundleError(f"CA bundle {path} holds no usable PEM certificate ({err})") from None


def _tls_failure(url: str, err: Exception, ca_bundle: str | None) -> str | None:
    """The reason for a TLS failure (never worth a retry), or None for other errors."""
    cause = err.reason if isinstance(err, urllib.error.URLError) else err
    host = urllib.parse.urlsplit(url).hostname
    against = f"the CA bundle {ca_bundle}" if ca_bundle else "the system's CA certificates"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"the certificate of {host} failed verification against {against} ({cause.verify_message}); if "
            "the server uses a private CA, set the dataset's http_ca_bundle to that CA's PEM file"
        )
    if isinstance(cause, ssl.SSLError):
        return f"the TLS handshake with {host} failed ({cause.reason or cause})"
    return None


def _describe(err: Exception) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, Exception) else err
    if isinstance(err, TimeoutError):
        return "timed out"
    return f"{type(err).__name__}: {err}"
