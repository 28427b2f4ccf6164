"""A small OpenID Connect provider for the tests, built from Authlib's server components.

It serves discovery, authorization (code + PKCE, ``nonce`` required), token and JWKS endpoints
over real HTTP on loopback, and signs ID tokens with its own RSA key (made with ``cryptography``).
Who is signed in at the provider is set by the test (``provider.signed_in``); a request with
``max_age=0`` or ``prompt=login`` makes the person authenticate afresh (a new ``auth_time``) unless
the test turns ``honour_max_age`` off to play a provider that ignores it.
"""
from __future__ import annotations

import hmac
import threading
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "sealtrail-test"
CLIENT_SECRET = "provider-client-secret-2026"


class _Client(ClientMixin):
    def __init__(self, redirect_uri: str):
        self.client_id, self.client_secret, self.redirect_uri = CLIENT_ID, CLIENT_SECRET, redirect_uri

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uri

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret):
        return hmac.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post") if endpoint == "token" else True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


class _Code(AuthorizationCodeMixin):
    def __init__(self, **values):
        self.__dict__.update(values)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class Provider:
    """The provider; ``people`` maps a user name to its claims (and ``disabled``)."""

    def __init__(self, redirect_uri: str):
        self.people: dict[str, dict] = {}
        self.signed_in: str | None = None
        self.honour_max_age = True
        self.nonce_override: str | None = None  # a provider bug or an attacker's token: another nonce
        self.codes: dict[str, _Code] = {}
        self.requests: list[dict] = []  # the authorization requests it saw (to check PKCE, max_age)
        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        self.key = RSAKey.import_key(pem, {"kid": "test-key-1", "use": "sig", "alg": "RS256"})
        self.client = _Client(redirect_uri)
        self.app = self._make_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def add_person(self, username: str, name: str, email: str, groups: list[str], *, signed_in_at: int):
        self.people[username] = {"sub": f"sub-{username}", "preferred_username": username, "name": name,
                                 "email": email, "groups": groups, "auth_time": signed_in_at, "disabled": False}

    def stop(self):
        self._server.shutdown()
        self._thread.join(5)
        self._server.server_close()

    def _make_app(self) -> Flask:
        provider = self
        app = Flask("test-oidc-provider")
        app.config["SECRET_KEY"] = "provider"

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, req):
                data = req.payload.data
                provider.codes[code] = _Code(
                    code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope, user=req.user, auth_time=req.user["auth_time"],
                    nonce=provider.nonce_override or data.get("nonce"),
                    code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"))

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found is not None and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.user

        class IdToken(OpenIDCode):
            def exists_nonce(self, nonce, req):
                return False

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_algorithm(self, client):
                return "RS256"

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": "test-key-1"}

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [client.get_client_id()], "exp": int(time.time()) + 300}

            def generate_user_info(self, user, scope):
                return UserInfo(sub=user["sub"], preferred_username=user["preferred_username"], name=user["name"],
                                email=user["email"], groups=list(user["groups"]))

        server = AuthorizationServer(app, query_client=lambda cid: provider.client if cid == CLIENT_ID else None,
                                     save_token=lambda token, req: None)
        server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=provider.issuer, authorization_endpoint=f"{provider.issuer}/authorize",
                           token_endpoint=f"{provider.issuer}/token", jwks_uri=f"{provider.issuer}/jwks",
                           response_types_supported=["code"], code_challenge_methods_supported=["S256"],
                           id_token_signing_alg_values_supported=["RS256"], subject_types_supported=["public"])

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[provider.key.as_dict(private=False)])

        @app.get("/authorize")
        def authorize():
            provider.requests.append(dict(request.args))
            person = provider.people.get(provider.signed_in or "")
            if person is not None and person["disabled"]:
                person = None
            try:
                grant = server.get_consent_grant(end_user=person)
            except OAuth2Error as error:
                return server.handle_error_response(request, error)
            if person is None:
                return server.create_authorization_response(grant=grant, grant_user=None)  # access_denied
            fresh = request.args.get("max_age") == "0" or request.args.get("prompt") == "login"
            if fresh and provider.honour_max_age:
                person["auth_time"] = int(time.time())  # the person typed their password again just now
            return server.create_authorization_response(grant=grant, grant_user=person)

        @app.post("/token")
        def token():
            return server.create_token_response()

        return app
