"""Sign-in with the company directory (LDAP / Active Directory, with ldap3): bind as the person.

The directory decides who the person is: a bind with their own DN (or AD user principal name)
and password, then a search, as them, for their entry (printed name, email, disabled flags) and
their groups. Sealtrail keeps no password for a directory account: its ``password_hash`` is
:data:`DIRECTORY_HASH`, which no password matches locally, so both the sign-in and the first
signature of a signing session (Part 11 §11.200(a)(1)) go to the directory with the password.
Roles come only from the group → role mapping (``DirectoryGroupRole``); an account whose groups
map to nothing has no roles.
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn
from sqlalchemy import select

from audit import chain
from audit.passwords import verify_password
from engine.config import ConfigError
from engine.db import utcnow
from engine.errors import Conflict, NotFound, ValidationFailed
from engine.users.models import ROLES, DirectoryGroupRole
from engine.users.oidc import OIDC_HASH, proof_matches

DIRECTORY_HASH = "!directory:ldap"  # no argon2 hash: a local password check always fails
TIMEOUT = 10
PASSWORD_MAX = 256
_UAC_DISABLED = 0x2  # Active Directory userAccountControl ACCOUNTDISABLE


class DirectoryUnavailable(Exception):
    """The directory could not be reached (not a refusal of the person)."""


@dataclass(frozen=True)
class DirectoryPerson:
    """What the directory says about the person who just bound."""

    dn: str
    printed_name: str
    email: str | None
    groups: frozenset[str]
    disabled: bool


@dataclass(frozen=True)
class LdapDirectory:
    """Where and how to bind (from the settings: SEALTRAIL_LDAP_URL and its companions)."""

    url: str
    user_dn: str
    base_dn: str
    user_filter: str
    group_filter: str
    starttls: bool = False
    tls_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings) -> LdapDirectory | None:
        """The directory of the installation, or None when ``SEALTRAIL_LDAP_URL`` is unset."""
        if not settings.ldap_url:
            return None
        if not settings.ldap_url.startswith(("ldap://", "ldaps://")):
            raise ConfigError(f"SEALTRAIL_LDAP_URL must start with ldap:// or ldaps://, got {settings.ldap_url!r}")
        if "{username}" not in settings.ldap_user_dn or not settings.ldap_base_dn:
            raise ConfigError("SEALTRAIL_LDAP_USER_DN must contain {username} and SEALTRAIL_LDAP_BASE_DN must be set "
                              "when SEALTRAIL_LDAP_URL is")
        return cls(settings.ldap_url, settings.ldap_user_dn, settings.ldap_base_dn, settings.ldap_user_filter,
                   settings.ldap_group_filter, settings.ldap_starttls)

    def _server(self) -> ldap3.Server:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED) if self.url.startswith("ldaps://") or self.starttls else None
        return ldap3.Server(self.url, connect_timeout=TIMEOUT, get_info=ldap3.NONE, tls=tls)

    def bind_dn(self, username: str) -> str:
        """The DN (or UPN) ``username`` binds as; the name is escaped for a DN."""
        return self.user_dn.format(username=escape_rdn(username) if "=" in self.user_dn else username)

    def authenticate(self, username: str, password: str) -> DirectoryPerson | None:
        """Bind as ``username``; their entry and groups, or None when the directory refuses."""
        if not username or not password or len(password) > PASSWORD_MAX:
            return None  # an empty password would be an anonymous bind, which "succeeds"
        conn = ldap3.Connection(self._server(), user=self.bind_dn(username), password=password,
                                read_only=True, receive_timeout=TIMEOUT, raise_exceptions=False)
        try:
            conn.open()
            if conn.closed:
                raise DirectoryUnavailable(f"cannot reach the directory at {self.url}")
            if self.starttls:
                conn.start_tls()
            return self._person(conn, username) if conn.bind() else None
        except LDAPException as exc:
            raise DirectoryUnavailable(f"directory {self.url}: {type(exc).__name__}: {exc}") from exc
        finally:
            conn.unbind()  # closes the socket of an open connection, bound or not
            if conn.socket is not None:  # ldap3 keeps the socket of a refused connect, unclosed
                conn.socket.close()

    def _person(self, conn: ldap3.Connection, username: str) -> DirectoryPerson | None:
        conn.search(self.base_dn, self.user_filter.format(username=escape_filter_chars(username)),
                    attributes=["displayName", "cn", "mail", "userAccountControl", "pwdAccountLockedTime"])
        if len(conn.entries) != 1:
            return None  # bound, but no single entry of that name: not a person we can name
        entry = conn.entries[0]
        attrs = entry.entry_attributes_as_dict
        name = (attrs.get("displayName") or attrs.get("cn") or [username])[0]
        email = (attrs.get("mail") or [None])[0]
        uac = (attrs.get("userAccountControl") or [0])[0]
        disabled = bool(int(uac or 0) & _UAC_DISABLED) or bool(attrs.get("pwdAccountLockedTime"))
        conn.search(self.base_dn, self.group_filter.format(dn=escape_filter_chars(entry.entry_dn)),
                    attributes=[])
        groups = frozenset(e.entry_dn.lower() for e in conn.entries)
        return DirectoryPerson(entry.entry_dn, str(name)[:200], str(email)[:254] if email else None, groups, disabled)


def mapped_roles(session, groups: frozenset[str]) -> set[str]:
    """The roles the person's groups map to (none when no group is mapped)."""
    if not groups:
        return set()
    return set(session.scalars(select(DirectoryGroupRole.role).where(DirectoryGroupRole.group_dn.in_(groups))))


def password_verifier(directory: LdapDirectory | None, oidc_secret: str | None = None):
    """The signing policy's password check: a directory account binds, an OpenID Connect account
    presents a fresh re-authentication proof (engine.users.oidc, only when ``oidc_secret`` is given),
    a local one checks its hash."""
    def check(signer, password: str) -> bool:
        if signer.password_hash == OIDC_HASH:
            return oidc_secret is not None and proof_matches(oidc_secret, signer, password)
        if signer.password_hash == DIRECTORY_HASH:
            if directory is None:
                return False
            person = directory.authenticate(signer.username, password)
            return person is not None and not person.disabled
        return verify_password(signer.password_hash, password)
    return check


def map_group(session, actor, group_dn: str, role: str) -> DirectoryGroupRole:
    """Members of ``group_dn`` (an LDAP group DN, or a value of the OpenID Connect ``groups``/``roles``
    claim) get ``role`` at their next sign-in (audited)."""
    dn = (group_dn or "").strip().lower()
    if not dn or len(dn) > 500 or not dn.isprintable():
        raise ValidationFailed("group must be an LDAP distinguished name such as cn=qa,ou=groups,dc=plant,dc=example "
                               "or an OpenID Connect group/role claim value such as qa-managers "
                               "(at most 500 printable characters)", field="group_dn")
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", field="role")
    if session.get(DirectoryGroupRole, (dn, role)) is not None:
        raise Conflict(f"{dn} already maps to {role}", field="group_dn")
    row = DirectoryGroupRole(group_dn=dn, role=role, created_at=utcnow())
    session.add(row)
    session.flush()
    chain.append(session, actor, "directory.group_mapped", "directory_group", dn, after={"role": role})
    return row


def unmap_group(session, actor, group_dn: str, role: str, *, reason: str) -> None:
    """Members of ``group_dn`` lose ``role`` at their next sign-in (audited, with a reason)."""
    dn = (group_dn or "").strip().lower()
    row = session.get(DirectoryGroupRole, (dn, role))
    if row is None:
        raise NotFound(f"{dn} does not map to {role}")
    if not reason or not reason.strip():
        raise ValidationFailed("a reason is required", field="reason")
    session.delete(row)
    session.flush()
    chain.append(session, actor, "directory.group_unmapped", "directory_group", dn, reason=reason,
                 before={"role": role})


def group_mappings(session) -> list[DirectoryGroupRole]:
    """Every group → role mapping."""
    return list(session.scalars(select(DirectoryGroupRole).order_by(DirectoryGroupRole.group_dn,
                                                                   DirectoryGroupRole.role)))
