"""A browser's side of Web Push, written with other people's code: checks a message's VAPID
signature (RFC 8292) with `cryptography` and decrypts its body (RFC 8291, aes128gcm) with
`http_ece`. Reads one JSON object on stdin:

    {"body": base64url, "authorization": "vapid t=…, k=…", "audience": "http://host:port",
     "private_key": base64url (the browser's P-256 scalar), "auth": base64url}

and prints {"claims": {…}, "message": <the decrypted JSON>}; exits non-zero on any failure.
"""

import base64
import json
import sys
import time

import http_ece
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_vapid(authorization, audience):
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    token, key = fields["t"], fields["k"]
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64(key))
    header, claims, signature = token.split(".")
    assert json.loads(b64(header))["alg"] == "ES256", header
    raw = b64(signature)
    assert len(raw) == 64, "an ES256 signature is r and s, 32 bytes each"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(b64(claims))
    assert claims["aud"] == audience, (claims, audience)
    now = time.time()
    assert now < claims["exp"] <= now + 24 * 3600, claims
    return claims


def main():
    given = json.load(sys.stdin)
    claims = check_vapid(given["authorization"], given["audience"])
    private = ec.derive_private_key(
        int.from_bytes(b64(given["private_key"]), "big"), ec.SECP256R1()
    )
    plain = http_ece.decrypt(
        b64(given["body"]),
        private_key=private,
        auth_secret=b64(given["auth"]),
        version="aes128gcm",
    )
    json.dump({"claims": claims, "message": json.loads(plain)}, sys.stdout)


if __name__ == "__main__":
    main()
