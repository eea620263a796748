"""TLS for the synthetic web: a throwaway CA, certificates made on the spot, one port for both.

`TestPKI(tmp_dir)` (needs the `trustme` package, a dev dependency) makes a CA and the server
certificates of the synthetic web, and writes the CA as `ca.pem` (what a downloader trusts
through `--ca-bundle`). `server_context()` picks the certificate by the name the client sent
in SNI:

- `*.openwit-demo.test` (the image hosts): a good certificate from the CA;
- `expired-cert.openwit-demo.test`: from the CA, but expired a day ago;
- `wrong-name.openwit-demo.test`: from the CA, for `elsewhere.invalid` only;
- `self-signed.openwit-demo.test`: a self-signed certificate for that name;
- `untrusted.openwit-demo.test`: for that name, from another CA nobody trusts.

A client that sends no SNI gets the good certificate for the wildcard, so a client that
forgot SNI fails the name check on every host: SNI is what makes the bad hosts bad.

`is_tls_hello(sock)`: True when the first byte a client sent is a TLS handshake record (0x16),
so one port can serve http and https (the synthetic web's URLs carry one port per host).
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl

DOMAIN = "openwit-demo.test"
EXPIRED = f"expired-cert.{DOMAIN}"
WRONG_NAME = f"wrong-name.{DOMAIN}"
SELF_SIGNED = f"self-signed.{DOMAIN}"
UNTRUSTED = f"untrusted.{DOMAIN}"
BAD_HOSTS = (EXPIRED, WRONG_NAME, SELF_SIGNED, UNTRUSTED)
TLS_HANDSHAKE = 0x16


def _context(leaf) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(ctx)
    return ctx


class TestPKI:
    """A CA and the synthetic web's server certificates (see the module doc)."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, out_dir: str):
        import trustme  # dev dependency: only the tests, the demo and the benchmark serve TLS

        self.ca = trustme.CA()
        now = datetime.datetime.now(datetime.UTC)
        day = datetime.timedelta(days=1)
        stranger = trustme.CA()
        self._contexts = {
            EXPIRED: _context(
                self.ca.issue_cert(EXPIRED, not_before=now - 30 * day, not_after=now - day)
            ),  # fmt: skip
            WRONG_NAME: _context(self.ca.issue_cert("elsewhere.invalid")),
            UNTRUSTED: _context(stranger.issue_cert(UNTRUSTED)),
            SELF_SIGNED: _self_signed(SELF_SIGNED),
        }
        self._good = _context(self.ca.issue_cert(f"*.{DOMAIN}", DOMAIN, "localhost", "127.0.0.1"))
        os.makedirs(out_dir, exist_ok=True)
        self.sni_names: list[str | None] = []  # the SNI name of every handshake, in order
        self.ca_file = os.path.join(out_dir, "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)

    def server_context(self) -> ssl.SSLContext:
        """The server side: the good certificate, or a bad one chosen by the SNI name."""

        def pick(sock: ssl.SSLObject, name: str | None, _ctx) -> None:
            self.sni_names.append(name)  # list.append is atomic: handshakes run in threads
            if name and name.lower() in self._contexts:
                sock.context = self._contexts[name.lower()]

        self._good.sni_callback = pick
        return self._good


def _self_signed(name: str) -> ssl.SSLContext:
    """A context serving a self-signed certificate for `name` (made with `cryptography`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())  # fmt: skip
    import trustme

    with trustme.Blob(key_pem + cert_pem).tempfile() as path:  # ssl loads chains from files only
        ctx.load_cert_chain(path)
    return ctx


def is_tls_hello(sock: socket.socket, timeout: float = 10.0) -> bool:
    """Peek (without consuming) at the client's first byte: 0x16 opens a TLS handshake."""
    sock.settimeout(timeout)
    try:
        first = sock.recv(1, socket.MSG_PEEK)
    except OSError:
        return False
    return first[:1] == bytes([TLS_HANDSHAKE])
