"""Who may see what: the records of the access model and the rights a caller has.

Tenants (Mandanten: municipalities) hold organisational units, users, groups and
collections. A collection is
- `oeffentlich`: readable by everyone, also without signing in;
- `mandant`: readable by every user of its tenant;
- `eingeschraenkt`: readable only by those with a grant (user, group or unit);
and may be shared read-only with other tenants (federal law for every town).

Roles, each including the ones before it: reader < editor (add/replace/delete, write
note drafts) < approver (release notes written by someone else: Vier-Augen-Prinzip) <
officer (Wissensmanagement: tasks, coverage, evaluations, synonyms). On a whole tenant
there is also `admin` (users, groups, grants; reads and writes everything of the
tenant) and `operator` (runs the installation: health and metrics, no content).
"""

from __future__ import annotations

from dataclasses import dataclass, field

VISIBILITIES = ("oeffentlich", "mandant", "eingeschraenkt")
VISIBILITY_LABELS = {"oeffentlich": "öffentlich", "mandant": "ganzer Mandant", "eingeschraenkt": "eingeschränkt"}
COLLECTION_ROLES = ("reader", "editor", "approver", "officer")
TENANT_ROLES = COLLECTION_ROLES + ("admin", "operator")
ROLE_LABELS = {"reader": "Lesen", "editor": "Bearbeiten", "approver": "Freigeben", "officer": "Wissensmanagement", "admin": "Mandanten-Admin",
               "operator": "Betrieb"}
RANK = {"reader": 1, "editor": 2, "approver": 3, "officer": 4, "admin": 5}
PRINCIPAL_KINDS = ("user", "group", "unit")


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str


@dataclass(frozen=True)
class Unit:
    tenant: str
    name: str
    title: str


@dataclass(frozen=True)
class User:
    name: str
    tenant: str
    unit: str | None
    display: str
    source: str  # "local", "ldap" or "header"
    active: bool
    has_password: bool = False


@dataclass(frozen=True)
class Group:
    tenant: str
    name: str
    ldap_group: str | None  # cn of a directory group whose members belong to it


@dataclass(frozen=True)
class Collection:
    name: str
    tenant: str
    visibility: str
    shared_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    id: int
    tenant: str
    kind: str  # user, group or unit
    principal: str
    role: str
    collection: str | None  # None: the whole tenant


@dataclass(frozen=True)
class Deputy:
    """Vertretung: `deputy` holds `grantor`'s rights (all, or `collections`) from `starts` to `ends`."""
    id: int
    tenant: str
    grantor: str
    deputy: str
    starts: str  # ISO dates, both inclusive
    ends: str
    collections: tuple[str, ...] | None
    created_by: str
    revoked: bool = False

    def active(self, today: str) -> bool:
        return not self.revoked and self.starts <= today <= self.ends


@dataclass(frozen=True)
class Token:
    id: str
    tenant: str
    name: str
    role: str
    collections: tuple[str, ...] | None
    expires: str | None
    created_by: str
    created_at: str
    revoked: bool = False


@dataclass(frozen=True)
class AuditEntry:
    id: int
    tenant: str | None
    at: str
    actor: str
    action: str
    target: str
    detail: str
    address: str


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user, a machine token, the installation key, or nobody."""
    kind: str  # "anonymous", "user", "token", "key"
    name: str  # user name, "token:<id>", "api-schluessel", "anonym"
    tenant: str | None
    via: str = ""  # how the caller proved it: "sitzung", "token", "kopfzeile", …

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Principal("anonymous", "anonym", None)


@dataclass(frozen=True)
class Rights:
    """What one caller may do today, computed from grants, visibility and deputies.
    `read` is the filter of every retrieval: passages outside it are never candidates."""
    principal: Principal
    read: frozenset[str]
    edit: frozenset[str]
    officer: frozenset[str]
    admin_of: frozenset[str] = frozenset()  # tenants
    operator: bool = False
    acting_for: tuple[str, ...] = ()  # users whose rights a deputy uses today
    via_deputy: frozenset[str] = field(default_factory=frozenset)  # collections readable only as a deputy
    approve: frozenset[str] = field(default_factory=frozenset)  # collections whose notes it may release

    def can_approve(self, collection: str) -> bool:
        return collection in self.approve

    def can_read(self, collection: str) -> bool:
        return collection in self.read

    def can_edit(self, collection: str) -> bool:
        return collection in self.edit

    @property
    def sees_counts(self) -> bool:
        """Anonymous callers see the status only; everybody else counts what they may read."""
        return not self.principal.anonymous
