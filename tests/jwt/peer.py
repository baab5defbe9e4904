"""An independent JWT implementation (PyJWT with cryptography) for the rotate-jwt tests.

Reads a JSON list of operations on stdin and prints a JSON list of results, one per
operation, using only what a rotated secret publishes:

  {"op": "sign", "secret": {...}, "claims": {...}}   -> {"token": "..."}
      signs as an application would, from "alg", "kid" and "signing_key" alone
  {"op": "verify", "jwks": {...}, "token": "..."}    -> {"ok": true, "claims": {...}}
                                                      or {"ok": false, "error": "..."}
      verifies as a resource server would, from the JWKS alone
"""

import base64
import json
import sys

import jwt


def sign(secret, claims):
    alg = secret["alg"]
    key = secret["signing_key"]
    if alg.startswith("HS"):
        key = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    return {"token": jwt.encode(claims, key, algorithm=alg, headers={"kid": secret["kid"]})}


def verify(jwks, token):
    try:
        keys = jwt.PyJWKSet.from_dict(jwks)
        kid = jwt.get_unverified_header(token).get("kid")
        matching = [k for k in keys.keys if k.key_id == kid]
        if not matching:
            return {"ok": False, "error": f"no key with kid {kid!r} in the JWKS"}
        key = matching[0]
        claims = jwt.decode(token, key=key.key, algorithms=[key.algorithm_name])
        return {"ok": True, "claims": claims}
    except jwt.PyJWTError as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def main():
    results = []
    for op in json.load(sys.stdin):
        if op["op"] == "sign":
            results.append(sign(op["secret"], op["claims"]))
        elif op["op"] == "verify":
            results.append(verify(op["jwks"], op["token"]))
        else:
            raise SystemExit(f"unknown op {op['op']!r}")
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
