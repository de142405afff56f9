"""The SSRF guard: what is refused at creation and at send time, in any spelling."""

import ipaddress
import socket

import pytest

from hooks import delivery, ssrf

REFUSED = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/x",
    "http://127.1/",  # short form
    "http://2130706433/",  # decimal
    "http://0x7f000001/",  # hex
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",  # octal
    "http://017700000001/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible (deprecated)
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "http://[ff02::1]/",
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.100.100.200/",  # Alibaba metadata (shared address space)
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://192.0.0.8/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",  # documentation
    "http://localhost/",  # a name that resolves to loopback
    "http://LOCALHOST./",
]
ALLOWED = [
    "http://93.184.216.34/",
    "https://8.8.8.8/hook",
    "http://[2606:4700:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",
    "https://1.1.1.1:8443/x?y=1",
]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_targets_are_refused(url, settings):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(ssrf.UnsafeURL, match="public address"):
        ssrf.check_url(url)


@pytest.mark.parametrize("url", ALLOWED)
def test_public_addresses_pass(url, settings):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    target = ssrf.check_url(url)
    assert target.addresses


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/", "file:///etc/passwd", "gopher://x/", "http:///nohost", "example.com/x", "", "http://a b/"],
)
def test_only_absolute_http_urls(url):
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_url(url, allow_unresolved=True)


def test_the_switch_allows_private_networks(settings):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = True
    assert ssrf.check_url("http://127.0.0.1:9/").addresses == ("127.0.0.1",)


def test_a_name_with_any_private_address_is_refused(monkeypatch, settings):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False

    def fake_dns(host, port, *args, **kwargs):  # the outside world: DNS
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_dns)
    with pytest.raises(ssrf.UnsafeURL, match=r"10\.1\.2\.3"):
        ssrf.check_url("http://mixed.example/")


def test_unresolvable_names_may_be_registered_but_not_sent(settings):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    assert ssrf.check_url("http://no-such-host.invalid/", allow_unresolved=True).addresses == ()
    result = delivery.post(url="http://no-such-host.invalid/", secrets=["whsec_" + "A" * 32], msg_id="msg_1", body="{}")
    assert not result.ok and result.retry and "does not resolve" in result.error


def test_send_connects_to_the_checked_address_no_rebinding(monkeypatch, settings, receiver):
    """A rebinding DNS answers public first, loopback after: the sender asks once and never reaches loopback."""
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    settings.HOOK_CONNECT_TIMEOUT_SECONDS = 1
    settings.HOOK_TIMEOUT_SECONDS = 1
    calls = []
    real = socket.getaddrinfo

    def rebinding_dns(host, port, *args, **kwargs):
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        calls.append(host)
        address = "203.0.113.9" if len(calls) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
    # 203.0.113.0/24 is documentation space: make it count as public for this test only.
    monkeypatch.setattr(ssrf, "is_public_address", lambda ip: ip == ipaddress.ip_address("203.0.113.9"))
    result = delivery.post(
        url=f"http://rebind.example:{receiver.port}/", secrets=["whsec_QUFBQQ=="], msg_id="m", body="{}"
    )
    assert calls == ["rebind.example"]
    assert not result.ok and receiver.requests == []


def test_send_time_check_refuses_what_became_private(settings, receiver):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    result = delivery.post(url=receiver.url(), secrets=["whsec_QUFBQQ=="], msg_id="m", body="{}")
    assert not result.ok and result.error.startswith("refused") and receiver.requests == []


def test_a_redirect_to_loopback_is_not_followed(settings, receiver):
    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = True
    from tests.hooks.conftest import Reply

    receiver.script(Reply(302, {"location": "http://127.0.0.1:1/internal"}, b""))
    result = delivery.post(url=receiver.url(), secrets=["whsec_QUFBQQ=="], msg_id="m", body="{}")
    assert not result.ok and not result.retry and result.status_code == 302
    assert "not followed" in result.error and len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_name_that_resolves_to_loopback_is_refused_at_creation_and_at_send(monkeypatch, settings, user):
    from config.api.errors import BadRequest
    from hooks import services
    from hooks.models import Hook

    settings.HOOKS_ALLOW_PRIVATE_NETWORKS = False
    answer = {"address": "127.0.0.1"}
    real = socket.getaddrinfo

    def dns(host, port, *args, **kwargs):  # the outside world: DNS
        if host != "internal.example":
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer["address"], port))]

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    with pytest.raises(BadRequest, match=r"public address, not 127\.0\.0\.1"):
        services.hook_create(owner=user, callback_url="http://internal.example/cb", query="people")
    assert not Hook.objects.exists()
    # Registered while it resolved elsewhere, then the name moved to loopback: refused at send.
    answer["address"] = "8.8.8.8"
    hook = services.hook_create(owner=user, callback_url="http://internal.example/cb", query="people")
    answer["address"] = "127.0.0.1"
    result = delivery.post(url=hook.callback_url, secrets=[hook.secret], msg_id="m", body="{}")
    assert not result.ok and result.error.startswith("refused") and "127.0.0.1" in result.error
