"""https callbacks end to end: a real TLS receiver on loopback with a certificate for a host name.

The sender connects to the address the SSRF guard checked, but the URL's host name travels in SNI,
in the certificate check and in ``Host``; a batch's posts share one TLS connection."""

from __future__ import annotations

import datetime
import socket
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hooks import delivery
from tests.hooks.conftest import Receiver
from tests.hooks.test_delivery import verify_standard_webhook

SECRET = "whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject, issuer, key, signing_key, *, ca: bool, dns: str | None = None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def test_ca():
    """A throwaway CA and a server certificate for hooks.test signed by it (PEM paths)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("camhub test CA", "camhub test CA", ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate("hooks.test", "camhub test CA", key, ca_key, ca=False, dns="hooks.test")
    return {
        "ca_pem": ca.public_bytes(serialization.Encoding.PEM).decode(),
        "cert_pem": leaf.public_bytes(serialization.Encoding.PEM),
        "key_pem": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }


@pytest.fixture
def tls_receiver(test_ca, tmp_path, monkeypatch, settings):
    """A TLS receiver for hooks.test (and whatever name resolves to 127.0.0.1 here), the sender
    trusting the test CA instead of certifi's roots."""
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = True
    (tmp_path / "cert.pem").write_bytes(test_ca["cert_pem"])
    (tmp_path / "key.pem").write_bytes(test_ca["key_pem"])
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    seen_sni: list[str | None] = []
    server.sni_callback = lambda sock, name, ctx: seen_sni.append(name)
    receiver = Receiver(tls=server)
    receiver.sni = seen_sni
    real = socket.getaddrinfo

    def dns(host, port, *args, **kwargs):
        if host in ("hooks.test", "other.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    monkeypatch.setattr(delivery, "_ssl", ssl.create_default_context(cadata=test_ca["ca_pem"]))
    yield receiver
    receiver.close()


def test_an_https_batch_is_signed_sent_with_sni_and_host_on_one_tls_connection(tls_receiver):
    url = f"https://hooks.test:{tls_receiver.port}/camio/cb?account=7&x=a%20b"
    body = '{"hook_id": 1, "event": {"id": 5}}'
    with delivery.receiver_session():
        results = [delivery.post(url=url, secrets=[SECRET], msg_id=f"msg_{i}", body=body) for i in range(3)]
    assert [r.ok for r in results] == [True, True, True]
    assert [r.status_code for r in results] == [200, 200, 200]
    first, *rest = tls_receiver.requests
    assert first.path == "/camio/cb?account=7&x=a%20b"
    assert first.headers["host"] == f"hooks.test:{tls_receiver.port}"
    assert first.body.decode() == body
    assert verify_standard_webhook(SECRET, first.headers, first.body)
    assert {r.peer for r in rest} == {first.peer}  # one keep-alive TLS connection for the batch
    assert tls_receiver.sni == ["hooks.test"]  # one handshake, for the URL's name, not the address


def test_a_certificate_for_another_name_is_refused_before_anything_is_sent(tls_receiver):
    result = delivery.post(
        url=f"https://other.test:{tls_receiver.port}/cb", secrets=[SECRET], msg_id="msg_x", body="{}"
    )
    assert not result.ok and result.retry and result.status_code is None
    assert result.error.startswith("connect error") and "certificate" in result.error.lower()
    assert tls_receiver.requests == []


def test_an_untrusted_certificate_is_refused(tls_receiver, monkeypatch):
    monkeypatch.setattr(delivery, "_ssl", None)  # certifi's roots only: the test CA is unknown
    result = delivery.post(
        url=f"https://hooks.test:{tls_receiver.port}/cb", secrets=[SECRET], msg_id="msg_y", body="{}"
    )
    assert not result.ok and "certificate verify failed" in result.error
    assert tls_receiver.requests == []


def test_the_guard_checks_a_host_once_per_batch_and_every_post_outside_one(tls_receiver, monkeypatch, settings):
    calls = []
    real = socket.getaddrinfo

    def counting(host, port, *args, **kwargs):
        if host == "hooks.test":  # not the connect's own lookup of the checked address
            calls.append(host)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    url = f"https://hooks.test:{tls_receiver.port}/cb"
    with delivery.receiver_session():
        for i in range(3):
            assert delivery.post(url=url, secrets=[SECRET], msg_id=f"m{i}", body="{}").ok
    assert calls == ["hooks.test"]
    for i in range(2):
        assert delivery.post(url=url, secrets=[SECRET], msg_id=f"n{i}", body="{}").ok
    assert calls == ["hooks.test"] * 3
    # A refusal is remembered for the batch too, and never sends.
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    with delivery.receiver_session():
        refused = [delivery.post(url=url, secrets=[SECRET], msg_id=f"r{i}", body="{}") for i in range(2)]
    assert all(r.error.startswith("refused") for r in refused)
    assert len(tls_receiver.requests) == 5
