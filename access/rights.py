"""From a principal to its rights today: the collections it may read, edit and tend.

Computed per request from the tables (a handful of small queries), so a revoked grant,
an ended deputy or a changed visibility holds from the next request on, in every
process of the installation. Collections that exist in the index but were never
registered belong to the default tenant with the configured default visibility.
"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from access.model import ANONYMOUS, RANK, Collection, Grant, Principal, Rights, Token, User
from access.store import AccessStore


class RightsResolver:
    def __init__(self, store: AccessStore, default_tenant: str, default_visibility: str):
        self.store = store
        self.default_tenant = default_tenant
        self.default_visibility = default_visibility

    def collections(self, index_collections: Iterable[str]) -> dict[str, Collection]:
        registered = {c.name: c for c in self.store.collections()}
        for name in index_collections:
            registered.setdefault(name, Collection(name, self.default_tenant, self.default_visibility))
        return registered

    def for_principal(self, principal: Principal, index_collections: Iterable[str], today: str | None = None,
                      directory_groups: Iterable[str] = ()) -> Rights:
        today = today or date.today().isoformat()
        colls = self.collections(index_collections)
        if principal.kind == "anonymous":
            return Rights(ANONYMOUS, frozenset(c.name for c in colls.values() if c.visibility == "oeffentlich"),
                          frozenset(), frozenset())
        if principal.kind == "key":
            # the installation key of AMTSWISSEN_API_KEY: administrator of the default tenant
            return self._from_grants(principal, self.default_tenant, colls,
                                     [Grant(0, self.default_tenant, "key", principal.name, "admin", None)])
        if principal.kind == "token":
            token = self.store.token(principal.name.removeprefix("token:"))
            return self._from_token(principal, token, colls, today)
        user = self.store.user(principal.name)
        if user is None or not user.active:
            return Rights(principal, frozenset(), frozenset(), frozenset())
        own = self._user_rights(principal, user, colls, directory_groups)
        return self._with_deputies(own, user, colls, today)

    def _user_rights(self, principal: Principal, user: User, colls: dict[str, Collection],
                     directory_groups: Iterable[str] = ()) -> Rights:
        groups = self.store.memberships(user, directory_groups)
        return self._from_grants(principal, user.tenant, colls, self.store.grants_of(user, groups))

    @staticmethod
    def _member_reads(tenant: str, colls: dict[str, Collection]) -> set[str]:
        """What every member of a tenant reads: public collections, the tenant's own
        tenant-wide ones, and those other tenants share with it."""
        return {c.name for c in colls.values()
                if c.visibility == "oeffentlich" or (c.tenant == tenant and c.visibility == "mandant")
                or tenant in c.shared_with}

    def _from_grants(self, principal: Principal, tenant: str, colls: dict[str, Collection],
                     grants: list[Grant]) -> Rights:
        read, edit, officer, approve = self._member_reads(tenant, colls), set(), set(), set()
        admin_of, operator = set(), False
        for g in grants:
            if g.role == "operator":
                operator = True
                continue
            if g.role == "admin":
                admin_of.add(g.tenant)
            targets = [c.name for c in colls.values() if c.tenant == g.tenant] if g.collection is None \
                else [g.collection] if g.collection in colls and colls[g.collection].tenant == g.tenant else []
            rank = RANK[g.role]
            read.update(targets)
            if rank >= RANK["editor"]:
                edit.update(targets)
            if rank >= RANK["approver"]:
                approve.update(targets)
            if rank >= RANK["officer"]:
                officer.update(targets)
        return Rights(principal, frozenset(read), frozenset(edit), frozenset(officer), frozenset(admin_of), operator,
                      approve=frozenset(approve))

    def _with_deputies(self, own: Rights, user: User, colls: dict[str, Collection], today: str) -> Rights:
        """A deputy holds the grantor's own rights (all, or the chosen collections) while
        the date range lasts; deputies do not pass on what they hold as deputies."""
        active = [d for d in self.store.deputies(user.name) if d.deputy == user.name and d.active(today)]
        if not active:
            return own
        read, edit, officer, approve, acting = set(own.read), set(own.edit), set(own.officer), set(own.approve), []
        for d in active:
            grantor = self.store.user(d.grantor)
            if grantor is None or not grantor.active:
                continue
            theirs = self._user_rights(Principal("user", grantor.name, grantor.tenant), grantor, colls)
            scope = set(d.collections) if d.collections is not None else None

            def within(names: frozenset[str]) -> set[str]:
                return set(names) if scope is None else set(names) & scope

            read |= within(theirs.read)
            edit |= within(theirs.edit)
            officer |= within(theirs.officer)
            approve |= within(theirs.approve)
            acting.append(grantor.name)
        return Rights(own.principal, frozenset(read), frozenset(edit), frozenset(officer), own.admin_of,
                      own.operator, tuple(acting), frozenset(read - own.read), frozenset(approve))

    def _from_token(self, principal: Principal, token: Token | None, colls: dict[str, Collection],
                    today: str) -> Rights:
        if token is None or token.revoked or (token.expires is not None and token.expires < today):
            return Rights(principal, frozenset(), frozenset(), frozenset())
        public = {c.name for c in colls.values() if c.visibility == "oeffentlich"}
        if token.collections is None:
            # the whole tenant as its members see it; restricted collections must be named
            scope = self._member_reads(token.tenant, colls)
            own = {n for n in scope if colls[n].tenant == token.tenant}
        else:
            # named collections count while they are the tenant's, shared with it, or public
            # (a share that ended ends the token's reading too)
            scope = {n for n in token.collections if n in colls and (
                colls[n].tenant == token.tenant or token.tenant in colls[n].shared_with
                or colls[n].visibility == "oeffentlich")}
            own = {n for n in scope if colls[n].tenant == token.tenant}
        rank = RANK[token.role]
        return Rights(principal, frozenset(scope | public), frozenset(own if rank >= RANK["editor"] else ()),
                      frozenset(own if rank >= RANK["officer"] else ()),
                      approve=frozenset(own if rank >= RANK["approver"] else ()))
