"""Sign-in with an OpenID Connect provider (Keycloak, Entra ID, Authing…), with Authlib.

Authorization code flow with PKCE (S256), a fresh ``state`` and ``nonce`` per request, the ID
token's signature checked against the provider's published keys (joserfc, through Authlib) and its
``iss``, ``aud``, ``exp`` and ``nonce`` checked here. The provider decides who the person is:
their printed name (``name``), email, and the group or role claims (``groups``, ``roles``) that
the group → role mapping (``DirectoryGroupRole``) turns into roles. Sealtrail keeps no password for
such an account: its ``password_hash`` is :data:`OIDC_HASH`, which no password matches.

Part 11 §11.200(a)(1): the first signature of a signing session re-authenticates the person at the
provider with ``max_age=0`` (and ``prompt=login``); the returned ID token's ``auth_time`` must not
be older than the re-authentication request. That yields a short-lived *re-authentication proof*
(signed with the installation's secret key, bound to the user) which the signing policy's password
check accepts in place of a password, together with the authenticator code as always.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from itsdangerous import BadSignature, URLSafeTimedSerializer
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from engine.config import ConfigError

OIDC_HASH = "!directory:oidc"  # no argon2 hash: a local password check always fails
TIMEOUT = 10
PROOF_PREFIX = "oidc-reauth:"
PROOF_SECONDS = 300  # a re-authentication is good for the signature that follows it, not for long
_PROOF_SALT = "sealtrail.oidc.reauthentication"
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
_CLAIM_MAX = 200  # group/role values longer than this are ignored, and at most this many are read


class OidcUnavailable(Exception):
    """The provider could not be reached or answered nonsense (not a refusal of the person)."""


class OidcRefused(Exception):
    """The sign-in is refused; ``kind`` says why (it is audited, never shown in detail)."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class OidcPerson:
    """What the provider's ID token says about the person who just authenticated."""

    subject: str
    username: str
    printed_name: str
    email: str | None
    groups: frozenset[str]
    auth_time: int | None
    disabled: bool = False  # a provider refuses disabled people itself; kept for the shared rules

    @property
    def dn(self) -> str:
        """The person's identity at the provider, as audited (``issuer#sub``)."""
        return self.subject


@dataclass(frozen=True)
class Pending:
    """One authorization request in flight (kept in the browser's signed session until the callback)."""

    state: str
    nonce: str
    code_verifier: str
    requested_at: int  # seconds since the epoch, when the request was made
    purpose: str  # "signin" or "reauth"
    next_url: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data) -> Pending | None:
        try:
            return cls(**{k: data[k] for k in ("state", "nonce", "code_verifier", "requested_at", "purpose")},
                       next_url=str(data.get("next_url") or ""))
        except (KeyError, TypeError):
            return None


@dataclass(frozen=True)
class OidcProvider:
    """The installation's provider (SEALTRAIL_OIDC_ISSUER, ..._CLIENT_ID, ..._CLIENT_SECRET)."""

    issuer: str
    client_id: str
    client_secret: str

    @classmethod
    def from_settings(cls, settings) -> OidcProvider | None:
        """The provider, or None when ``SEALTRAIL_OIDC_ISSUER`` is unset."""
        issuer = getattr(settings, "oidc_issuer", None)
        if not issuer:
            return None
        if not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ConfigError(f"SEALTRAIL_OIDC_ISSUER must be an https:// URL, got {issuer!r}")
        if not settings.oidc_client_id or not settings.oidc_client_secret:
            raise ConfigError("SEALTRAIL_OIDC_CLIENT_ID and SEALTRAIL_OIDC_CLIENT_SECRET must be set "
                              "when SEALTRAIL_OIDC_ISSUER is")
        return cls(issuer.rstrip("/"), settings.oidc_client_id, settings.oidc_client_secret)

    def _get_json(self, url: str) -> dict:
        try:
            response = requests.get(url, timeout=TIMEOUT, allow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcUnavailable(f"provider {url}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(data, dict):
            raise OidcUnavailable(f"provider {url}: not a JSON object")
        return data

    def metadata(self) -> dict:
        """The provider's discovery document; its issuer must be the configured one."""
        data = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        if data.get("issuer", "").rstrip("/") != self.issuer:
            raise OidcUnavailable(f"the discovery document names issuer {data.get('issuer')!r}, not {self.issuer!r}")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str):
                raise OidcUnavailable(f"the discovery document has no {key}")
        return data

    def _client(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(self.client_id, self.client_secret, scope="openid profile email",
                             redirect_uri=redirect_uri, code_challenge_method="S256")

    def begin(self, redirect_uri: str, *, purpose: str, now: int, next_url: str = "",
              login_hint: str | None = None) -> tuple[str, Pending]:
        """The provider URL to send the browser to, and what the callback must check.

        ``purpose="reauth"`` asks for a fresh authentication (``max_age=0``, ``prompt=login``).
        """
        meta = self.metadata()
        pending = Pending(state=secrets.token_urlsafe(24), nonce=secrets.token_urlsafe(24),
                          code_verifier=secrets.token_urlsafe(48), requested_at=int(now), purpose=purpose,
                          next_url=next_url)
        extra = {"max_age": 0, "prompt": "login"} if purpose == "reauth" else {}
        if login_hint:
            extra["login_hint"] = login_hint
        with self._client(redirect_uri) as client:
            url, _state = client.create_authorization_url(
                meta["authorization_endpoint"], state=pending.state, nonce=pending.nonce,
                code_verifier=pending.code_verifier, **extra)
        assert create_s256_code_challenge(pending.code_verifier) in url  # PKCE is on the request
        return url, pending

    def finish(self, redirect_uri: str, params, pending: Pending | None) -> OidcPerson:
        """Check the callback (state), redeem the code (PKCE), check the ID token; the person."""
        if pending is None:
            raise OidcRefused("no_request", "no authorization request is in flight for this browser")
        state = str(params.get("state") or "")
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise OidcRefused("state_mismatch")
        if params.get("error"):
            raise OidcRefused("provider_refused", str(params.get("error"))[:100])
        code = str(params.get("code") or "")
        if not code or len(code) > 2000:
            raise OidcRefused("no_code")
        meta = self.metadata()
        try:
            with self._client(redirect_uri) as client:
                token = client.fetch_token(meta["token_endpoint"], code=code, code_verifier=pending.code_verifier,
                                           grant_type="authorization_code", timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise OidcUnavailable(f"token endpoint: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # Authlib's OAuthError and friends: the provider refused the code
            raise OidcRefused("token_refused", f"{type(exc).__name__}: {exc}"[:300]) from exc
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str) or len(id_token) > 20000:
            raise OidcRefused("no_id_token")
        claims = self._verified_claims(id_token, meta["jwks_uri"], pending)
        return _person(claims)

    def _verified_claims(self, id_token: str, jwks_uri: str, pending: Pending) -> dict:
        keys = self._get_json(jwks_uri)
        try:
            token = jwt.decode(id_token, KeySet.import_key_set(keys), algorithms=_ALGORITHMS)
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True}, sub={"essential": True},
                leeway=60).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcRefused("invalid_id_token", f"{type(exc).__name__}: {exc}"[:300]) from exc
        claims = token.claims
        if not hmac.compare_digest(str(claims.get("nonce") or "").encode(), pending.nonce.encode()):
            raise OidcRefused("nonce_mismatch")
        if pending.purpose == "reauth":
            auth_time = claims.get("auth_time")
            if not isinstance(auth_time, int) or auth_time < pending.requested_at:
                raise OidcRefused("stale_authentication",
                                  f"auth_time {auth_time!r} is before the request at {pending.requested_at}")
        return claims


def _person(claims: dict) -> OidcPerson:
    username = str(claims.get("preferred_username") or "").strip().lower()
    if not username:
        raise OidcRefused("no_username", "the ID token has no preferred_username")
    groups: set[str] = set()
    for key in ("groups", "roles"):
        values = claims.get(key) or []
        if isinstance(values, str):
            values = [values]
        if isinstance(values, list):
            groups.update(str(v).strip().lower() for v in values[:_CLAIM_MAX]
                          if isinstance(v, str) and 0 < len(v.strip()) <= _CLAIM_MAX)
    name = str(claims.get("name") or username).strip()[:200]
    email = claims.get("email")
    auth_time = claims.get("auth_time")
    return OidcPerson(subject=f"{claims.get('iss')}#{claims['sub']}"[:500], username=username[:64],
                      printed_name=name, email=str(email)[:254] if isinstance(email, str) and email else None,
                      groups=frozenset(groups), auth_time=auth_time if isinstance(auth_time, int) else None)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_PROOF_SALT)


def reauthentication_proof(secret_key: str, user_id, person: OidcPerson) -> str:
    """What the signing form carries in place of a password after a fresh provider sign-in."""
    return PROOF_PREFIX + _serializer(secret_key).dumps({"u": str(user_id), "t": person.auth_time})


def proof_matches(secret_key: str, signer, proof: str, *, max_age: int = PROOF_SECONDS) -> bool:
    """True when ``proof`` is a re-authentication of ``signer`` at the provider within ``max_age``."""
    if not proof or not proof.startswith(PROOF_PREFIX) or len(proof) > 2000:
        return False
    try:
        data = _serializer(secret_key).loads(proof[len(PROOF_PREFIX):], max_age=max_age)
    except BadSignature:  # includes SignatureExpired
        return False
    return isinstance(data, dict) and data.get("u") == str(signer.user_id)
