"""Outbound requests cannot reach this platform's own network: endpoint URLs are refused at
registration, and the addresses a host resolves to are checked again at every connection (DNS
rebinding), unless WEBHOOKS_ALLOW_PRIVATE or WEBHOOKS_ALLOWED_HOSTS says otherwise."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from datadao import egress
from datadao.models import AuditEvent
from tests.factories import DAOFactory
from tests.webhooks.receiver import Receiver, receiver  # noqa: F401
from webhooks import services, verify
from webhooks.models import WebhookEndpoint

PUBLIC = "93.184.216.34"  # a globally routable address (example.com's, once)


def _resolving_to(*addresses: str) -> egress.Policy:
    return egress.Policy(resolver=lambda host, port: list(addresses))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("http://127.1.2.3:8080/hook", "127.1.2.3 is a loopback address"),
        ("http://10.0.0.5/hook", "10.0.0.5 is a private-network address"),
        ("http://192.168.1.1/hook", "192.168.1.1 is a private-network address"),
        ("http://172.16.3.4/hook", "172.16.3.4 is a private-network address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]:8000/hook", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1 is a loopback address"),
        ("http://[fd00::1]/hook", "fd00::1 is a private-network address"),
        ("http://0.0.0.0/hook", "0.0.0.0 is the unspecified address"),
        ("http://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
        ("http://100.64.0.1/hook", "100.64.0.1 is an address that is not globally routable"),
        ("file:///etc/passwd", "the scheme 'file' is not http or https"),
        ("gopher://example.com/", "the scheme 'gopher' is not http or https"),
        ("ftp://example.com/x", "the scheme 'ftp' is not http or https"),
        ("https://user:pass@example.com/hook", "the URL carries credentials"),
        ("https://token@example.com/hook", "the URL carries credentials"),
        ("https:///hook", "the URL has no host"),
        ("example.com/hook", "the scheme '(none)' is not http or https"),
    ],
)
def test_a_url_into_the_platforms_own_network_is_refused(url: str, message: str) -> None:
    with pytest.raises(egress.EgressRefused) as refused:
        _resolving_to(PUBLIC).check_url(url)
    assert message in str(refused.value)


def test_a_host_name_resolving_to_loopback_is_refused_by_its_address() -> None:
    # The system resolver: "localhost" is loopback on every machine.
    with pytest.raises(egress.EgressRefused, match=r"'localhost' resolves to (127\.0\.0\.1|::1)"):
        egress.Policy().check_url("http://localhost:8000/hook")
    # A name with one public and one private address is refused: all are checked.
    with pytest.raises(egress.EgressRefused, match=r"'hooks\.example' resolves to 10\.1\.2\.3"):
        _resolving_to(PUBLIC, "10.1.2.3").check_url("https://hooks.example/x")
    _resolving_to(PUBLIC).check_url("https://hooks.example/x")  # a public one passes


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(egress.EgressRefused, match="does not resolve"):
        egress.Policy(resolver=nowhere).check_url("https://nowhere.invalid/")


def test_the_operator_may_allow_private_hosts_by_name_address_or_network() -> None:
    everything = egress.Policy.from_settings(allow_private=True, allowed=[])
    everything.check_url("http://127.0.0.1/hook")
    named = egress.Policy.from_settings(allow_private=False, allowed=["127.0.0.1", "10.8.0.0/16"])
    named.check_url("http://127.0.0.1:9000/hook")
    named.check_url("http://10.8.4.4/hook")
    with pytest.raises(egress.EgressRefused, match=r"10\.9\.0\.1 is a private-network address"):
        named.check_url("http://10.9.0.1/hook")
    by_host = egress.Policy.from_settings(allow_private=False, allowed=["hooks.internal"])
    by_host = egress.Policy(
        by_host.allow_private,
        by_host.allowed_hosts,
        by_host.allowed_networks,
        resolver=lambda h, p: ["10.0.0.9"],
    )
    by_host.check_url("http://hooks.internal/x")
    with pytest.raises(egress.EgressRefused, match=r"resolves to 10\.0\.0\.9, which is a private"):
        by_host.check_url("http://other.internal/x")


def test_a_name_rebound_to_loopback_after_registration_is_refused_at_connection(
    receiver: Receiver,  # noqa: F811
) -> None:
    """DNS rebinding: the name was public when checked, resolves to loopback when used. The
    connection resolves it again and refuses; nothing reaches the loopback receiver."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    rebinding = egress.Policy(resolver=lambda host, port: next(answers))
    url = f"http://rebind.example:{receiver.port}/hook"
    rebinding.check_url(url)
    with pytest.raises(
        egress.EgressRefused, match=r"resolves to 127\.0\.0\.1, which is a loopback"
    ):
        egress.post(url, b"{}", {}, policy=rebinding)
    assert receiver.all() == []
    # Allowed explicitly, the same loopback receiver is reached (the tests' own setting).
    allowed = egress.Policy.from_settings(allow_private=False, allowed=["127.0.0.1"])
    answer = egress.post(receiver.url, b"{}", {}, policy=allowed)
    assert answer.status == 400  # unsigned: the receiver refuses it, but it was reached
    assert len(receiver.all()) == 1


def test_redirects_are_not_followed(receiver: Receiver) -> None:  # noqa: F811
    receiver.secret = "whsec_test"
    receiver.script = lambda received, seen: (302, 0.0)
    allowed = egress.Policy.from_settings(allow_private=True, allowed=[])
    signed = {
        verify.SIGNATURE_HEADER: verify.signature_header("whsec_test", int(time.time()), b"{}")
    }
    assert egress.post(receiver.url, b"{}", signed, policy=allowed).status == 302
    assert len(receiver.all()) == 1


@pytest.mark.django_db
@override_settings(WEBHOOKS_ALLOW_PRIVATE=False, WEBHOOKS_ALLOWED_HOSTS=[])
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://10.1.2.3/hook", "10.1.2.3 is a private-network address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("http://localhost/hook", "'localhost' resolves to"),
        ("file:///etc/passwd", "the scheme 'file' is not http or https"),
        ("https://me:secret@example.com/hook", "the URL carries credentials"),
    ],
)
def test_registering_an_internal_url_is_refused_with_the_reason(url: str, message: str) -> None:
    dao = DAOFactory()
    with pytest.raises(services.WebhookRefused) as refused:
        services.endpoint_create(
            dao=dao, url=url, events=["contribution.pinned"], actor=dao.creator
        )
    assert refused.value.message.startswith("This URL cannot receive webhooks: ")
    assert message in refused.value.message
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(verb="webhook.endpoint_created").exists()
