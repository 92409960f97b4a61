"""Small real videos, metadata files and loopback HTTP(S) servers that the dataset tests build themselves.

The HTTPS server's certificates come from a CA this file makes (``cryptography``), for 127.0.0.1.
"""

from __future__ import annotations

import collections
import datetime
import http.server
import ipaddress
import json
import ssl
import threading
import time
from pathlib import Path

import attrs
import numpy as np
import pytest
from cosmos_datasets.config import SingleDatasetConfig
from cosmos_datasets.samples import generate_sample_dataset, write_video
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

COUNTING_FRAMES = 40
COUNTING_FPS = 8


def counting_value(index: int) -> int:
    """Grey level of frame ``index`` of the counting video."""
    return 20 + 5 * index


@pytest.fixture(scope="session")
def counting_video(tmp_path_factory) -> Path:
    """40 flat grey 32x64 frames at 8 fps (frame t has grey level 20 + 5t), a keyframe every 4 frames."""
    frames = np.stack([np.full((32, 64, 3), counting_value(t), dtype=np.uint8) for t in range(COUNTING_FRAMES)])
    return write_video(tmp_path_factory.mktemp("counting") / "count.mp4", frames, fps=COUNTING_FPS, gop=4)


@pytest.fixture(scope="session")
def sample_dataset(tmp_path_factory) -> Path:
    """18 sample videos (3 per class: one train, one val, one test each); returns the metadata path."""
    return generate_sample_dataset(tmp_path_factory.mktemp("samples"), num_videos=18, frames=8, size=(32, 32))


@pytest.fixture
def sample_entries(sample_dataset) -> list[dict]:
    """The entries of the sample dataset's metadata (paths relative to its folder)."""
    return json.loads(sample_dataset.read_text())


@pytest.fixture
def write_metadata(tmp_path):
    """``write_metadata(entries, name="meta.json")``: a JSON array (or JSONL for ``*.jsonl``) file."""

    def write(entries: list[dict], name: str = "meta.json") -> Path:
        path = tmp_path / name
        if name.endswith(".jsonl"):
            path.write_text("".join(json.dumps(e) + "\n" for e in entries))
        else:
            path.write_text(json.dumps(entries, indent=2))
        return path

    return write


@pytest.fixture
def small_config():
    """``small_config(**fields)``: a SingleDatasetConfig for tiny, fast clips."""

    def make(**fields) -> SingleDatasetConfig:
        defaults = {"num_video_frames": 4, "resolution": [16, 16], "workers": 0, "decode_backend": "pyav"}
        return SingleDatasetConfig(**{**defaults, **fields})

    return make


class _VideoServer(http.server.ThreadingHTTPServer):
    """Serves ``files`` under ``/files/NAME``; other first path parts misbehave on purpose:

    ``/missing/NAME`` 404, ``/truncated/NAME`` half the body under the full Content-Length,
    ``/slow/NAME`` answers after ``delay`` seconds, ``/flaky/NAME`` answers 503 ``failures`` times
    before serving. Any other path gets ``default`` when it is set (404 otherwise). ``hits[path]``
    counts the requests, ``connections`` the accepted connections (TLS handshakes included). With
    ``tls`` (a server-side SSL context) it speaks HTTPS.
    """

    daemon_threads = True
    delay = 1.0
    failures = 1

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _VideoHandler)
        self.files: dict[str, bytes] = {}
        self.default: bytes | None = None
        self.hits: collections.Counter[str] = collections.Counter()
        self.connections = 0
        self.lock = threading.Lock()
        self.tls = tls

    def get_request(self):
        connection, address = super().get_request()
        with self.lock:
            self.connections += 1
        if self.tls is not None:  # a failed handshake ends this connection only (socketserver drops OSErrors)
            connection = self.tls.wrap_socket(connection, server_side=True)
        return connection, address

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that gave up on a slow answer close the socket mid-write; that is the point."""


class _VideoHandler(http.server.BaseHTTPRequestHandler):
    server: _VideoServer

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        with self.server.lock:
            self.server.hits[self.path] += 1
            hits = self.server.hits[self.path]
        kind, _, name = self.path.strip("/").partition("/")
        body = self.server.files.get(name, self.server.default)
        if body is None or kind == "missing":
            self.send_error(404)
            return
        if kind == "flaky" and hits <= self.server.failures:
            self.send_error(503)
            return
        if kind == "slow":
            time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if kind == "truncated" else body)
        if kind == "truncated":
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


def _serve(sample_dataset: Path, tls: ssl.SSLContext | None = None):
    server = _VideoServer(tls)
    for path in sorted(sample_dataset.parent.glob("videos/*.mp4")):
        server.files[path.name] = path.read_bytes()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server


@pytest.fixture
def video_server(sample_dataset):
    """A loopback HTTP server (in a thread) serving the sample videos; see :class:`_VideoServer`."""
    server = _serve(sample_dataset)
    yield server
    server.shutdown()
    server.server_close()


@attrs.frozen
class Certificates:
    """PEM files: ``ca`` (the test CA), ``ip_cert``/``ip_key`` for 127.0.0.1, ``name_cert``/``name_key``
    for the DNS name ``localhost`` only (a host mismatch when the URL says 127.0.0.1)."""

    ca: Path
    ip_cert: Path
    ip_key: Path
    name_cert: Path
    name_key: Path


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool, names=()) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        ).add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="session")
def certificates(tmp_path_factory) -> Certificates:
    """A test CA and two server certificates it signed; see :class:`Certificates`."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cosmos-run test CA")])
    ca = _certificate("cosmos-run test CA", ca_key, ca_name, ca_key, ca=True)
    paths = {"ca": folder / "ca.pem"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for kind, names in (
        ("ip", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
        ("name", [x509.DNSName("localhost")]),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _certificate(f"{kind} server", key, ca_name, ca_key, ca=False, names=names)
        paths[f"{kind}_cert"], paths[f"{kind}_key"] = folder / f"{kind}.pem", folder / f"{kind}.key"
        paths[f"{kind}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[f"{kind}_key"].write_bytes(_pem_key(key))
    return Certificates(**paths)


@pytest.fixture
def https_server(sample_dataset, certificates):
    """``https_server(kind)``: a loopback HTTPS server with the ``ip`` or ``name`` certificate."""
    servers = []

    def start(kind: str = "ip") -> _VideoServer:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(getattr(certificates, f"{kind}_cert"), getattr(certificates, f"{kind}_key"))
        servers.append(_serve(sample_dataset, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
