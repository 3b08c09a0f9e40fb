"""HTTPS on the home network with no outside help: a certificate authority made once for
this Butler, and a server certificate it signs for the addresses Butler is reached at.

A phone's browser gives a page the microphone only in a secure context, and a plain
`http://192.168.1.20:8000` is not one. Installing the authority's certificate on the
phone (served at /ca.crt) makes the page trusted; a browser that has not can still be
told to proceed past its warning, and the page is then secure enough for the microphone.

Apple's rules for certificates under a user-installed authority are followed (a subject
alternative name for each address, the server-auth usage, at most 397 days), and the
server certificate is made again when it nears its end or the addresses change.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 397  # the longest Apple accepts
RENEW_WITHIN = datetime.timedelta(days=30)


@dataclass(frozen=True)
class LocalTLS:
    certificate: Path  # the server's certificate, then the authority's
    key: Path
    authority: Path  # what a phone installs to trust the server


def authority_path(data_dir: Path) -> Path:
    return data_dir / "tls" / "ca.pem"


def ensure_certificate(data_dir: Path, addresses: list[str]) -> LocalTLS:
    """The authority (made once) and a current server certificate for `addresses`
    (IP addresses or host names) besides this machine's own names and loopback."""
    folder = data_dir / "tls"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_cert, ca_key = _authority(folder)
    names = _names(addresses)
    files = LocalTLS(folder / "server.pem", folder / "server-key.pem", authority_path(data_dir))
    if not _current(files.certificate, ca_cert, names):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _server_certificate(key, ca_cert, ca_key, names)
        _write_private(files.key, _key_bytes(key))
        chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(
            serialization.Encoding.PEM
        )
        files.certificate.write_bytes(chain)
    return files


def _authority(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if isinstance(key, ec.EllipticCurvePrivateKey) and _valid_for(cert, RENEW_WITHIN):
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Butler"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Butler on {socket.gethostname()}"[:64]),
        ]
    )
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_bytes(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: list[x509.GeneralName],
) -> x509.Certificate:
    now = _now()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Butler")])
    ca_key_id = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _names(addresses: list[str]) -> list[x509.GeneralName]:
    """Every name the server is reached by, addresses as IP entries (browsers match an
    address only against those)."""
    host = socket.gethostname()
    wanted = [*addresses, "127.0.0.1", "::1", "localhost", host, f"{host}.local"]
    names: list[x509.GeneralName] = []
    for entry in dict.fromkeys(w.strip("[]") for w in wanted if w):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            if entry.isascii():  # a host name that is not plain ASCII is left out
                names.append(x509.DNSName(entry.lower()))
    return names


def _current(path: Path, ca_cert: x509.Certificate, names: list[x509.GeneralName]) -> bool:
    """The certificate there is signed by this authority, covers `names` and is not
    about to end."""
    if not path.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
        cert.verify_directly_issued_by(ca_cert)
        covered = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    return _valid_for(cert, RENEW_WITHIN) and all(name in covered for name in names)


def _valid_for(cert: x509.Certificate, margin: datetime.timedelta) -> bool:
    return cert.not_valid_after_utc - margin > _now()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    path.chmod(0o600)
