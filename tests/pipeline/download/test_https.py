"""HTTPS for real: a local TLS image host with a test CA made at test time (trustme),
trusted through `--ca-bundle` / `SSL_CERT_FILE`; certificate failures as reasons; redirects
across schemes vetted like any hop; SNI; connection reuse; robots.txt over https."""

from __future__ import annotations

import glob
import os

import pyarrow.parquet as pq
import pytest

from pipeline.download.fetch import Fetcher
from pipeline.download.http import FetchError
from pipeline.download.options import DownloadConfig
from schemas.vocab import DownloadReason as R
from synth.image_host import ImageHost
from synth.tls import EXPIRED, SELF_SIGNED, UNTRUSTED, WRONG_NAME, TestPKI
from tests.pipeline.download.conftest import RESOLVE, download, reason, write_jsonl

H = "img0.openwit-demo.test"
BAD = {
    EXPIRED: R.CERT_EXPIRED,
    WRONG_NAME: R.CERT_HOSTNAME_MISMATCH,
    SELF_SIGNED: R.CERT_SELF_SIGNED,
    UNTRUSTED: R.CERT_UNTRUSTED,
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return TestPKI(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def tls_host(pki):
    with ImageHost(tls=pki.server_context()) as h:
        yield h


def fetcher(pki, **kw) -> Fetcher:
    base = dict(output="unused", allow_networks=("127.0.0.1/32",), resolve=(RESOLVE,),
                timeout=2.0, retries=0, backoff=0.05)  # fmt: skip
    if pki is not None:
        base["ca_pem"] = open(pki.ca_file).read()
    base.update(kw)
    return Fetcher(DownloadConfig(**base))


def test_https_fetch_with_ca_bundle_reuses_one_connection(pki, tls_host):
    f = fetcher(pki)
    before, names = tls_host.server.connections, len(pki.sni_names)
    for i in range(12):
        body, final = f.fetch_image(tls_host.url(H, f"/img/reuse{i}.jpg", "https"))
        assert body[:3] == b"\xff\xd8\xff" and final.startswith("https://")
    # robots.txt and 12 images over one kept-alive TLS connection: one handshake, with SNI.
    assert tls_host.server.connections - before == 1 == f.pool.opened
    assert pki.sni_names[names:] == [H]


@pytest.mark.parametrize("robots", [True, False])
@pytest.mark.parametrize("name", sorted(BAD))
def test_certificate_failures_have_their_own_reason(pki, tls_host, name, robots):
    f = fetcher(pki, robots_txt=robots)
    with pytest.raises(FetchError) as e:
        f.fetch_image(tls_host.url(name, "/img/a.jpg", "https"))
    assert e.value.reason == BAD[name] and not e.value.retryable
    assert ("robots.txt" in e.value.detail) == robots
    assert name in pki.sni_names  # the bad certificate was chosen by the SNI name we sent


def test_system_store_does_not_trust_the_test_ca(pki, tls_host, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert reason(fetcher(None), tls_host.url(H, "/img/a.jpg", "https")) == R.CERT_UNTRUSTED


def test_ssl_cert_file_is_honoured(pki, tls_host, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca_file)
    body, _ = fetcher(None).fetch_image(tls_host.url(H, "/img/env.jpg", "https"))
    assert body[:3] == b"\xff\xd8\xff"


def test_plain_http_still_served_on_the_same_port(pki, tls_host):
    body, _ = fetcher(pki).fetch_image(tls_host.url(H, "/img/plain.png", "http"))
    assert body[:4] == b"\x89PNG"


@pytest.mark.parametrize("start,hop", [("http", "https"), ("https", "http")])
def test_redirect_across_schemes_is_followed_and_vetted(pki, tls_host, start, hop):
    url = tls_host.url(H, f"/to-{hop}/x.jpg", start)
    body, final = fetcher(pki).fetch_image(url)
    assert final.startswith(f"{hop}://") and body[:3] == b"\xff\xd8\xff"
    # The same hop to a host that --exclude-domains names is refused on the hop.
    f = fetcher(pki, exclude_domains=("openwit-demo.test",))
    assert reason(f, url) == R.EXCLUDED_DOMAIN


def test_ssrf_checks_hold_for_https(pki, tls_host, connects):
    f = fetcher(pki, resolve=("evil.test:10.0.0.7", RESOLVE))
    assert reason(f, "https://evil.test/img/a.jpg") == R.BLOCKED_ADDRESS
    assert reason(fetcher(pki, allow_networks=()), tls_host.url(H, "/a.jpg", "https")) == (
        R.BLOCKED_ADDRESS
    )
    with pytest.raises(FetchError) as e:
        f.fetch_image(tls_host.url(H, "/hostile/redirect-metadata/x", "https"))
    assert e.value.reason == R.BLOCKED_ADDRESS and "169.254.169.254" in e.value.detail
    assert set(connects) == {"127.0.0.1"}  # only the image host itself was ever connected to


def test_robots_txt_over_https(pki, tls_host):
    f = fetcher(pki)
    assert reason(f, tls_host.url("img3.openwit-demo.test", "/private/p.jpg", "https")) == (
        R.ROBOTS_TXT
    )
    f.fetch_image(tls_host.url("img3.openwit-demo.test", "/img/p.jpg", "https"))


def test_download_cli_counts_https_failures_by_reason(pki, tls_host, tmp_path):
    rows = [{"url": tls_host.url(H, f"/img/cli{i}.jpg", "https"), "caption": f"ok {i}"}
            for i in range(6)]  # fmt: skip
    rows += [{"url": tls_host.url(n, "/img/a.jpg", "https"), "caption": n} for n in BAD]
    manifest = write_jsonl(tmp_path / "m.jsonl", rows)
    out = str(tmp_path / "out")
    assert download(manifest, out, "--ca-bundle", pki.ca_file, "--shard-size", "20") == 0
    table = pq.read_table(glob.glob(os.path.join(out, "shards", "*.parquet"))[0]).to_pylist()
    got = {r["caption"]: (r["status"], (r["error_message"] or "").split(":")[0]) for r in table}
    assert got == {**{f"ok {i}": ("success", "") for i in range(6)},
                   **{n: ("failed", str(r)) for n, r in BAD.items()}}  # fmt: skip


def test_download_cli_rejects_a_bad_ca_bundle(tmp_path, capsys):
    manifest = write_jsonl(tmp_path / "m.jsonl", [{"url": "https://x.invalid/a.jpg"}])
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    assert download(manifest, str(tmp_path / "out"), "--ca-bundle", str(bogus)) != 0
    assert "--ca-bundle" in capsys.readouterr().err


def test_pipeline_run_passes_ca_bundle_to_its_download(pki, tls_host, tmp_path):
    """`pipeline run --ca-bundle`: the download stage trusts the test CA (the system store
    does not, see above), so every curated https image is fetched."""
    from pipeline.main import main

    shapes = ("circle", "square", "star")
    rows = [{"url": tls_host.url(H, f"/img/run{i}.jpg", "https"),
             "caption": f"a photo of a red {s} on white, number {i}"}
            for i, s in enumerate(shapes)]  # fmt: skip
    table = write_jsonl(tmp_path / "t.jsonl", rows)
    (tmp_path / "q.txt").write_text("\n".join(shapes) + "\n")
    out = str(tmp_path / "out")
    rc = main(["run", "--input", table, "--queries", str(tmp_path / "q.txt"), "--output", out,
               "--allow-networks", "127.0.0.1/32", "--resolve", RESOLVE,
               "--ca-bundle", pki.ca_file, "--direct_num_workers=1"])  # fmt: skip
    assert rc == 0
    table = pq.read_table(glob.glob(os.path.join(out, "shards", "*.parquet"))[0]).to_pylist()
    assert table and {r["caption"] for r in table} <= {r["caption"] for r in rows}
    assert {r["status"] for r in table} == {"success"}  # without the CA: cert_untrusted
