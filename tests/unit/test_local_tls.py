"""The local certificate authority and the server certificate it signs (`--lan`)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from butler.config import Settings
from butler.errors import ConfigError
from butler.stack import local_tls
from butler.stack.home_network import on_home_network
from butler.stack.local_tls import ensure_certificate


def _leaf(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


def _addresses(cert: x509.Certificate) -> set[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(a) for a in names.get_values_for_type(x509.IPAddress)}


def test_the_certificate_covers_the_address_and_is_signed_by_the_authority(
    tmp_path: Path,
) -> None:
    files = ensure_certificate(tmp_path, ["192.168.1.20"])
    leaf = _leaf(files.certificate)
    authority = x509.load_pem_x509_certificate(files.authority.read_bytes())
    leaf.verify_directly_issued_by(authority)
    assert {"192.168.1.20", "127.0.0.1"} <= _addresses(leaf)
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    lifetime = leaf.not_valid_after_utc - leaf.not_valid_before_utc
    assert lifetime <= datetime.timedelta(days=398)  # Apple refuses longer ones
    # The chain (server, then authority) is what the server presents.
    assert len(x509.load_pem_x509_certificates(files.certificate.read_bytes())) == 2
    for private in (files.key, tmp_path / "tls" / "ca-key.pem"):
        assert private.stat().st_mode & 0o777 == 0o600


def test_the_authority_is_kept_and_the_certificate_follows_the_address(tmp_path: Path) -> None:
    first = ensure_certificate(tmp_path, ["192.168.1.20"])
    authority = first.authority.read_bytes()
    leaf = first.certificate.read_bytes()
    again = ensure_certificate(tmp_path, ["192.168.1.20"])
    assert again.certificate.read_bytes() == leaf, "a current certificate is kept"
    moved = ensure_certificate(tmp_path, ["fd00:b7::1"])
    assert moved.authority.read_bytes() == authority, "phones need not install it again"
    assert "fd00:b7::1" in _addresses(_leaf(moved.certificate))


def test_a_certificate_near_its_end_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _leaf(ensure_certificate(tmp_path, ["192.168.1.20"]).certificate)
    later = old.not_valid_after_utc - datetime.timedelta(days=10)
    monkeypatch.setattr(local_tls, "_now", lambda: later)
    renewed = _leaf(ensure_certificate(tmp_path, ["192.168.1.20"]).certificate)
    assert renewed.serial_number != old.serial_number
    assert renewed.not_valid_after_utc > old.not_valid_after_utc


def test_serving_the_home_network_sets_tls_media_address_and_host() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    lan, host = on_home_network(settings, "192.168.1.20")
    assert lan.server.tls == "local" and lan.livekit.node_ip == "192.168.1.20"
    assert host == "0.0.0.0"  # noqa: S104
    lan6, host6 = on_home_network(settings, "[fd00:b7::1]")
    assert lan6.livekit.node_ip == "fd00:b7::1" and host6 == "fd00:b7::1"
    assert ipaddress.ip_address(host6).version == 6


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "::", "my-laptop", "192.168.1"])
def test_serving_the_home_network_needs_an_address_there(address: str) -> None:
    with pytest.raises(ConfigError, match="--lan"):
        on_home_network(Settings(_env_file=None), address)  # type: ignore[call-arg]
