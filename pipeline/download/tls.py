"""TLS for image fetches: the client context, and why a handshake failed.

`client_context(ca_pem)` -> one `ssl.SSLContext` per worker (certificate and host name
checked; TLS >= 1.2). With `ca_pem` (the text of `--ca-bundle FILE`, a PEM bundle, read once
by the launcher by `read_ca_bundle` so that remote workers need not see the file) exactly
those CAs are trusted, in place of the system store; without it the system store is used,
and OpenSSL honours `SSL_CERT_FILE` / `SSL_CERT_DIR` there. Building a context reads the whole
trust store (milliseconds), so it is made once and shared by every connection.

`tls_failure(exc)` -> (DownloadReason, detail) for an `ssl.SSLError`: a certificate that fails
verification is `cert_expired`, `cert_hostname_mismatch`, `cert_self_signed`, `cert_untrusted`
(no path to a trusted CA) or `cert_invalid` (any other verification failure: not yet valid,
bad signature, wrong purpose...); a handshake that fails otherwise (no common protocol or
cipher, an alert, a peer that does not speak TLS) is `tls_error`.
"""

from __future__ import annotations

import ssl

from schemas.vocab import DownloadReason as R

# OpenSSL X509_V_ERR_* codes -> our reasons.
_VERIFY_REASONS = {
    10: R.CERT_EXPIRED,  # certificate has expired
    62: R.CERT_HOSTNAME_MISMATCH,  # hostname mismatch
    64: R.CERT_HOSTNAME_MISMATCH,  # IP address mismatch
    18: R.CERT_SELF_SIGNED,  # self-signed certificate (depth 0)
    19: R.CERT_UNTRUSTED,  # self-signed certificate in chain (an unknown root)
    2: R.CERT_UNTRUSTED,  # unable to get issuer certificate
    20: R.CERT_UNTRUSTED,  # unable to get local issuer certificate
    21: R.CERT_UNTRUSTED,  # unable to verify the first certificate
}


def client_context(ca_pem: str | None = None) -> ssl.SSLContext:
    """A verifying client context; `ca_pem` (PEM text) replaces the system trust store."""
    ctx = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def read_ca_bundle(path: str) -> str:
    """The PEM text of `path`; ValueError naming the flag unless it holds a CA certificate."""
    try:
        with open(path, encoding="ascii") as f:
            pem = f.read()
        ctx = client_context(pem)
    except (OSError, ValueError, ssl.SSLError) as e:
        raise ValueError(f"--ca-bundle {path}: {e}") from e
    if not ctx.get_ca_certs():
        raise ValueError(f"--ca-bundle {path}: no CA certificate in the file")
    return pem


def tls_failure(exc: ssl.SSLError) -> tuple[R, str]:
    """The reason and a short detail for a failed TLS handshake (see the module doc)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = getattr(exc, "verify_code", None)
        message = getattr(exc, "verify_message", None) or str(exc)
        return _VERIFY_REASONS.get(code, R.CERT_INVALID), f"{message} (X509 error {code})"
    return R.TLS_ERROR, f"{type(exc).__name__}: {getattr(exc, 'reason', None) or exc}"
