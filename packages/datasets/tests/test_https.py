"""HTTPS downloads against a loopback server with certificates the tests make, and cache file names.

The server's certificate is signed by a CA of the test's own (conftest ``certificates``), so the
system's store refuses it; ``ca_bundle`` / ``http_ca_bundle`` makes it verify. Certificate failures are
not retried and say how to fix them. Cache names are derived from the URL's hash, so no URL can write
outside the cache folder.
"""

from __future__ import annotations

import os
import pickle
import re

import attrs
import pytest
from cosmos_datasets.dataset_types.http import HttpDataset
from cosmos_datasets.errors import DatasetConfigError, VideoDecodeError
from cosmos_datasets.http_cache import CaBundleError, FetchError, HttpCache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def cache_in(folder, **options) -> HttpCache:
    return HttpCache(folder / "cache", timeout_sec=60.0, attempts=3, backoff_sec=0.0, **options)


def test_https_with_the_ca_bundle_downloads(https_server, certificates, tmp_path):
    server = https_server("ip")
    name = sorted(server.files)[0]
    cache = cache_in(tmp_path, ca_bundle=certificates.ca)
    path = cache.fetch(f"{server.url}/files/{name}")
    assert server.url.startswith("https://") and path.read_bytes() == server.files[name]


def test_an_unknown_ca_fails_once_and_says_how_to_pass_a_bundle(https_server, tmp_path):
    server = https_server("ip")
    url = f"{server.url}/files/{sorted(server.files)[0]}"
    with pytest.raises(FetchError) as info:
        cache_in(tmp_path).fetch(url)
    assert str(info.value).startswith(f"cannot download {url}: the certificate of 127.0.0.1 failed verification")
    assert "against the system's CA certificates" in info.value.reason
    assert "set the dataset's http_ca_bundle to that CA's PEM file" in info.value.reason
    assert "gave up" not in info.value.reason and server.connections == 1  # not retried


def test_a_certificate_for_another_host_fails_verification(https_server, certificates, tmp_path):
    server = https_server("name")  # valid for "localhost", requested as 127.0.0.1
    with pytest.raises(FetchError, match=r"certificate of 127\.0\.0\.1 failed verification against the CA bundle .*"):
        cache_in(tmp_path, ca_bundle=certificates.ca).fetch(f"{server.url}/files/{sorted(server.files)[0]}")
    assert server.connections == 1


def test_a_missing_or_empty_ca_bundle_is_refused_up_front(tmp_path, certificates):
    with pytest.raises(CaBundleError, match="does not exist"):
        cache_in(tmp_path, ca_bundle=tmp_path / "absent.pem")
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    with pytest.raises(CaBundleError, match="holds no usable PEM certificate"):
        cache_in(tmp_path, ca_bundle=tmp_path / "junk.pem")


def test_the_cache_with_a_bundle_travels_to_spawned_workers(https_server, certificates, tmp_path):
    server = https_server("ip")
    name = sorted(server.files)[0]
    cache = cache_in(tmp_path, ca_bundle=certificates.ca)
    cache.fetch(f"{server.url}/files/{name}")  # the SSL context exists now
    copy = pickle.loads(pickle.dumps(cache))
    other = sorted(server.files)[1]
    assert copy.fetch(f"{server.url}/files/{other}").read_bytes() == server.files[other]


@pytest.fixture
def https_config(https_server, write_metadata, small_config, tmp_path):
    server = https_server("ip")
    entries = [{"url": f"{server.url}/files/{n}", "anomaly_type": "shape"} for n in sorted(server.files)[:2]]
    return small_config(
        dataset_type="http", metadata=str(write_metadata(entries)), data_root=str(tmp_path / "cache"), http_attempts=3
    )


def test_the_http_dataset_verifies_with_http_ca_bundle(https_config, certificates):
    dataset = HttpDataset(attrs.evolve(https_config, http_ca_bundle=str(certificates.ca)), training=False)
    assert dataset[0]["video"].shape == (4, 3, 16, 16)


def test_the_http_dataset_skips_or_stops_on_a_certificate_failure(https_config):
    skipped = HttpDataset(https_config, training=False)[0]
    assert skipped.reason.startswith("missing file: the certificate of 127.0.0.1 failed verification")
    assert "http_ca_bundle" in skipped.reason
    strict = HttpDataset(attrs.evolve(https_config, skip_missing_files=False), training=False)
    with pytest.raises(VideoDecodeError, match=r"cannot read video https://127\.0\.0\.1:\d+/files/.*: the certificate"):
        strict[0]


def test_the_http_dataset_names_a_bad_http_ca_bundle(https_config, tmp_path):
    with pytest.raises(DatasetConfigError, match=r"http_ca_bundle: CA bundle .*absent\.pem does not exist"):
        HttpDataset(attrs.evolve(https_config, http_ca_bundle=str(tmp_path / "absent.pem")), training=False)


CACHE_NAME = re.compile(r"[0-9a-f]{40}(\.[a-z0-9]{1,5})?")
HOSTILE_PATHS = [
    "/../../../../tmp/evil.mp4",
    "/files/..%2f..%2fevil.mp4",
    "/%2e%2e/%2e%2e/evil.mp4",
    "//etc/passwd",
    "/a/" + "x" * 5000 + ".mp4",
    "/v.mp4?name=../../evil.mp4&x=/etc/passwd",
    "/v.mp4#../../evil",
    "/vidéo ünïcode/日本語.mp4",
    "/v.MP4%00.sh",
    "/v.m\u0664\u0664",  # Arabic-Indic digits: alphanumeric, but not ASCII
    "/.mp4",
    "/C:\\Windows\\evil.mp4",
]


def test_hostile_urls_download_into_the_cache_folder_only(video_server, tmp_path):
    video_server.default = b"any body"
    cache = cache_in(tmp_path)
    for path in HOSTILE_PATHS:
        stored = cache.fetch(video_server.url + path)
        assert stored.parent == cache.directory and CACHE_NAME.fullmatch(stored.name), path
    written = [os.path.join(root, f) for root, _, files in os.walk(tmp_path) for f in files]
    assert written and all(os.path.dirname(f) == str(cache.directory) for f in written)
    assert len(written) == len(HOSTILE_PATHS)


url_text = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda scheme, host, path, query: f"{scheme}://{host}{path}{query}",
        st.sampled_from(["http", "https", "file", ""]),
        st.sampled_from(["127.0.0.1", "example.com:8080", "[::1]", "..", "/"]),
        st.lists(st.sampled_from(["..", ".", "%2e%2e", "%2F", "/", "a", "x" * 300, "é", "\\", "\x00", ".mp4"]))
        .map("/".join)
        .map(lambda p: "/" + p),
        st.sampled_from(["", "?a=../b", "#/../x", "?" + "q" * 500]),
    ),
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=url_text)
def test_every_url_maps_to_a_plain_name_inside_the_cache(tmp_path, url):
    cache = HttpCache(tmp_path / "cache")
    target = cache.path_for(url)
    assert target.parent == cache.directory and CACHE_NAME.fullmatch(target.name)
    assert cache.path_for(url) == target  # stable
