"""Sign-in against LDAP / Active Directory: check a password by binding as the user, read name, mail and groups.

Two ways to find a user's entry, as directories are set up:
- DN template (OpenLDAP style): ``uid={user},ou=people,dc=example,dc=org``; the bind itself checks the password.
- Search, then bind (Active Directory style): a service account (``bind_dn``) searches ``user_base`` with
  ``user_filter`` (e.g. ``(sAMAccountName={user})``), then the found DN is bound with the user's password.
Groups are the entries under ``group_base`` matching ``group_filter`` with the user's DN
(``(member={dn})``; for AD's nested groups ``(member:1.2.840.113556.1.4.1941:={dn})``).
"""

from __future__ import annotations

import logging
import math
import re
import ssl
from dataclasses import dataclass

from ldap3 import BASE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPException,
    LDAPPasswordIsMandatoryError,
    LDAPSASLPrepError,
)
from ldap3.protocol.sasl.sasl import sasl_prep
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

log = logging.getLogger(__name__)

# User names are checked before anything reaches the directory. Escaping (below) already makes filter and DN
# injection harmless; the whitelist is a second line and keeps odd names (wildcards, NUL, DN syntax, spaces that
# AD would ignore, look-alike Unicode) from ever matching an entry. Letters, digits and . _ - @ cover uid,
# sAMAccountName and userPrincipalName; 64 is AD's limit for a UPN's local part and ample for uid.
_USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")

# Bind results that mean "these credentials are not accepted" (the user gets None, like a wrong password):
# invalidCredentials (AD also for locked/expired/disabled accounts), inappropriateAuthentication,
# insufficientAccessRights, unwillingToPerform (e.g. unauthenticated binds refused).
_REJECTED = {48, 49, 50, 53}
# Search results that are not errors: success, sizeLimitExceeded (we ask for at most 2 users: ambiguity check),
# noSuchObject (base or templated DN does not exist: no such user).
_SEARCH_OK = {0, 4}
_NO_SUCH_OBJECT = 32


@dataclass(frozen=True)
class LdapConfig:
    url: str  # ldap://host:389 or ldaps://host:636
    user_dn_template: str | None  # "uid={user},ou=people,dc=example,dc=org"; None: search with bind_dn
    bind_dn: str | None  # service account for searching users and groups (AD style); None: the user's own bind
    bind_password: str | None
    user_base: str  # "ou=people,dc=example,dc=org"
    user_filter: str  # "(uid={user})"; {user} is filter-escaped
    group_base: str  # "ou=groups,dc=example,dc=org"
    group_filter: str  # "(|(member={dn})(uniqueMember={dn}))"; {dn} is filter-escaped
    display_attribute: str = "cn"
    mail_attribute: str = "mail"
    timeout: float = 5.0  # seconds for connecting; answers: rounded up to whole seconds (ldap3)
    ca_file: str | None = None  # for ldaps://: CA certificates (PEM); None: the system's trust store


@dataclass(frozen=True)
class LdapUser:
    name: str  # the name as signed in with (LDAP matching is case-insensitive: compare names case-folded)
    dn: str
    display: str
    mail: str | None
    groups: tuple[str, ...]  # group DNs
    group_names: tuple[str, ...]  # the groups' cn, in the same order


class LdapUnavailable(Exception):
    """The directory cannot be asked (down, timeout, TLS or service-account problem): not a wrong password."""


def valid_user_name(user: str) -> bool:
    return isinstance(user, str) and _USER_NAME.fullmatch(user) is not None


def _usable_password(password: str) -> bool:
    """An empty simple-bind password is an *unauthenticated* bind (RFC 4513 5.1.2): many servers (AD among them)
    answer it with success without checking anything. So an empty password never reaches the directory, and
    neither does one that SASLprep, which ldap3 applies before sending, would reduce to nothing or refuse."""
    if not isinstance(password, str) or not password:
        return False
    try:
        return bool(sasl_prep(password))
    except LDAPSASLPrepError:
        return False


class LdapDirectory:
    def __init__(self, config: LdapConfig):
        if config.user_dn_template is None and not config.bind_dn:
            raise ValueError("LDAP: without user_dn_template a service account (bind_dn) is needed to find users")
        if config.user_dn_template is not None and "{user}" not in config.user_dn_template:
            raise ValueError("LDAP: user_dn_template must contain {user}")
        self.config = config
        tls = None
        if config.url.lower().startswith("ldaps://"):
            # ldap3's default Tls() does not verify the certificate: require a valid one and the host name.
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file)
        self._server = Server(config.url, get_info=NONE, connect_timeout=config.timeout, tls=tls)

    # -- public ----------------------------------------------------------------------------------------

    def authenticate(self, user: str, password: str) -> LdapUser | None:
        """The user, if the password is right; None for an unknown user, a wrong or empty password or a name
        outside the allowed characters. Raises LdapUnavailable when the directory cannot be asked."""
        if not valid_user_name(user) or not _usable_password(password):
            return None
        service = self._service_connection() if self.config.bind_dn else None
        try:
            if self.config.user_dn_template is not None:
                dn = self._template_dn(user)
            else:
                assert service is not None
                found = self._find_user(service, user)
                if found is None:
                    return None
                dn = found
            own = self._user_connection(dn, password)
            if own is None:
                return None
            try:
                # Read with the service account where there is one: users often may not read group entries.
                reader = service or own
                return self._read_user(reader, user, dn)
            finally:
                _close(own)
        finally:
            if service is not None:
                _close(service)

    def lookup(self, user: str) -> LdapUser | None:
        """The user's entry and groups without their password (for importing users), read with the service
        account; anonymously if no service account is configured. None if there is no such user."""
        if not valid_user_name(user):
            return None
        conn = self._service_connection() if self.config.bind_dn else self._anonymous_connection()
        try:
            if self.config.user_dn_template is not None:
                dn = self._template_dn(user)
            else:
                found = self._find_user(conn, user)
                if found is None:
                    return None
                dn = found
            return self._read_user(conn, user, dn)
        finally:
            _close(conn)

    # -- connections -----------------------------------------------------------------------------------

    def _connection(self, user: str | None = None, password: str | None = None) -> Connection:
        # raise_exceptions=False: a failed bind or an empty search is an answer we inspect (conn.result), not an
        # error; network and protocol failures still raise. auto_referrals=False: AD answers searches at the
        # domain root with referrals to other partitions, which would otherwise be followed (and bound to).
        # receive_timeout in whole seconds: ldap3 2.9.1 packs it into SO_RCVTIMEO with struct 'LL', and a float
        # there fails with struct.error (not an LDAPException) on Linux.
        return Connection(self._server, user=user, password=password,
                          authentication=SIMPLE if user else None,
                          receive_timeout=max(1, math.ceil(self.config.timeout)), auto_referrals=False,
                          raise_exceptions=False, read_only=True)

    def _open(self, conn: Connection) -> None:
        try:
            conn.open()
        except LDAPException as error:
            raise self._unavailable(error) from error

    def _service_connection(self) -> Connection:
        if not self.config.bind_password:
            # Same trap as for users: a service DN with an empty password would bind unauthenticated.
            raise LdapUnavailable("Der Verzeichnisdienst ist falsch eingerichtet: "
                                  "für das Dienstkonto fehlt das Passwort.")
        conn = self._connection(self.config.bind_dn, self.config.bind_password)
        self._open(conn)
        try:
            ok = conn.bind()
        except LDAPException as error:
            raise self._unavailable(error) from error
        if not ok:
            log.error("LDAP: service account %s was refused: %s", self.config.bind_dn, _describe(conn.result))
            _close(conn)
            raise LdapUnavailable("Der Verzeichnisdienst lehnt das Dienstkonto ab; "
                                  "bitte die LDAP-Einstellungen (bind_dn, Passwort) prüfen.")
        return conn

    def _anonymous_connection(self) -> Connection:
        conn = self._connection()
        self._open(conn)
        return conn

    def _user_connection(self, dn: str, password: str) -> Connection | None:
        """A connection bound as ``dn``, or None if the directory does not accept the password."""
        conn = self._connection(dn, password)
        self._open(conn)
        try:
            ok = conn.bind()
        except (LDAPPasswordIsMandatoryError, LDAPSASLPrepError):
            _close(conn)
            return None
        except LDAPException as error:
            raise self._unavailable(error) from error
        if ok:
            return conn
        result = conn.result or {}
        _close(conn)
        if result.get("result") in _REJECTED:
            log.info("LDAP: bind as %s refused: %s", dn, _describe(result))
            return None
        raise LdapUnavailable(f"Der Verzeichnisdienst hat die Anmeldung nicht bearbeitet ({_describe(result)}). "
                              "Bitte später erneut versuchen.")

    # -- reading ---------------------------------------------------------------------------------------

    def _template_dn(self, user: str) -> str:
        # escape_rdn: a name is one RDN value; ',', '+', '=' etc. must not open another RDN (DN injection).
        return self.config.user_dn_template.replace("{user}", escape_rdn(user))  # type: ignore[union-attr]

    def _search(self, conn: Connection, base: str, search_filter: str, scope, attributes: list[str],
                size_limit: int = 0) -> list[dict]:
        try:
            conn.search(base, search_filter, search_scope=scope, attributes=attributes, size_limit=size_limit,
                        time_limit=max(1, math.ceil(self.config.timeout)))
        except LDAPException as error:
            raise self._unavailable(error) from error
        code = (conn.result or {}).get("result")
        if code == _NO_SUCH_OBJECT:
            return []
        if code not in _SEARCH_OK:
            log.error("LDAP: search %s in %s failed: %s", search_filter, base, _describe(conn.result))
            raise LdapUnavailable(f"Die Suche im Verzeichnisdienst ist fehlgeschlagen ({_describe(conn.result)}).")
        # Only real entries: referrals (searchResRef) carry no DN and no attributes.
        return [r for r in (conn.response or []) if r.get("type") == "searchResEntry" and r.get("dn")]

    def _find_user(self, conn: Connection, user: str) -> str | None:
        search_filter = self.config.user_filter.replace("{user}", escape_filter_chars(user))
        found = self._search(conn, self.config.user_base, search_filter, SUBTREE, ["1.1"], size_limit=2)
        if len(found) != 1:
            if found:  # two entries for one name: refuse rather than pick one
                log.warning("LDAP: %d entries for user %r under %s; sign-in refused", len(found), user,
                            self.config.user_base)
            return None
        return found[0]["dn"]

    def _read_user(self, conn: Connection, user: str, dn: str) -> LdapUser | None:
        cfg = self.config
        entries = self._search(conn, dn, "(objectClass=*)", BASE, [cfg.display_attribute, cfg.mail_attribute])
        if not entries:
            return None
        entry = entries[0]
        attributes = entry.get("attributes") or {}
        dn = entry["dn"]  # as the directory spells it, which is what group members refer to
        group_filter = cfg.group_filter.replace("{dn}", escape_filter_chars(dn))
        groups = self._search(conn, cfg.group_base, group_filter, SUBTREE, ["cn"])
        groups.sort(key=lambda g: g["dn"].lower())
        return LdapUser(
            name=user,
            dn=dn,
            display=_first(attributes.get(cfg.display_attribute)) or user,
            mail=_first(attributes.get(cfg.mail_attribute)),
            groups=tuple(g["dn"] for g in groups),
            group_names=tuple(_first((g.get("attributes") or {}).get("cn")) or g["dn"] for g in groups),
        )

    # -- errors ----------------------------------------------------------------------------------------

    def _unavailable(self, error: LDAPException) -> LdapUnavailable:
        log.warning("LDAP: %s not reachable: %s", self.config.url, error)
        return LdapUnavailable(f"Der Verzeichnisdienst ({self.config.url}) ist nicht erreichbar oder antwortet "
                               "nicht. Bitte später erneut versuchen oder die Administration informieren.")


def _close(conn: Connection) -> None:
    # Unbinding a connection whose server went away must not hide the error that is being raised.
    try:
        conn.unbind()
    except (LDAPException, OSError):
        pass


def _first(value) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value) or None


def _describe(result: dict | None) -> str:
    result = result or {}
    text = f"{result.get('result')} {result.get('description', '')}".strip()
    return f"{text}: {result['message']}" if result.get("message") else text
