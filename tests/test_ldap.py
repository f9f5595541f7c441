"""Sign-in against a real OpenLDAP slapd (tests/ldap_server.py), in both configurations:
DN template (bind directly as uid=...,ou=people) and search-then-bind with a service account (AD style)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

import access.ldap as ldap_module
from access.ldap import LdapConfig, LdapDirectory, LdapUnavailable, LdapUser
from tests.ldap_server import GROUPS, PEOPLE, LdapTestServer, slapd_server, user_dn

BUERGERAMT = f"cn=buergeramt,{GROUPS}"
SOZIALAMT = f"cn=sozialamt,{GROUPS}"
GROUP_FILTER = "(|(member={dn})(uniqueMember={dn}))"


@pytest.fixture(scope="module")
def ldap(tmp_path_factory) -> LdapTestServer:
    with slapd_server(tmp_path_factory.mktemp("ldap")) as server:
        yield server


def template_config(server: LdapTestServer, **changes) -> LdapConfig:
    """OpenLDAP style: the user's DN from a template, no service account; the user's own bind reads."""
    values = {"url": server.url, "user_dn_template": f"uid={{user}},{PEOPLE}", "bind_dn": None,
              "bind_password": None, "user_base": PEOPLE, "user_filter": "(uid={user})", "group_base": GROUPS,
              "group_filter": GROUP_FILTER}
    return LdapConfig(**(values | changes))


def search_config(server: LdapTestServer, **changes) -> LdapConfig:
    """AD style: a service account (here the rootdn) searches the user, then the found DN is bound."""
    values = {"url": server.url, "user_dn_template": None, "bind_dn": server.admin_dn,
              "bind_password": server.admin_password, "user_base": PEOPLE,
              "user_filter": "(&(objectClass=inetOrgPerson)(uid={user}))", "group_base": GROUPS,
              "group_filter": GROUP_FILTER}
    return LdapConfig(**(values | changes))


STYLES = {"template": template_config, "search": search_config}


@pytest.fixture(params=sorted(STYLES))
def directory(request, ldap) -> LdapDirectory:
    return LdapDirectory(STYLES[request.param](ldap))


def test_right_password_gives_the_user_with_name_mail_and_groups(directory):
    user = directory.authenticate("anna", "Geheim-123")
    assert user == LdapUser(name="anna", dn=user_dn("anna"), display="Anna Amtmann",
                            mail="anna.amtmann@example.org", groups=(BUERGERAMT,), group_names=("buergeramt",))


def test_wrong_password_is_none(directory):
    assert directory.authenticate("anna", "Geheim-124") is None
    assert directory.authenticate("anna", "Bernd-456") is None  # another user's password


def test_empty_password_is_none_although_the_server_accepts_it_as_unauthenticated_bind(directory, ldap):
    # The trap is real here: slapd (like AD) answers "DN + empty password" with success.
    whoami = shutil.which("ldapwhoami")
    if whoami is None:
        if os.environ.get("AMTSWISSEN_REQUIRE_LDAP") == "1":
            pytest.fail("AMTSWISSEN_REQUIRE_LDAP=1, but ldapwhoami (ldap-utils) is missing")
        pytest.skip("ldap-utils not installed")
    raw = subprocess.run([whoami, "-x", "-H", ldap.url, "-D", user_dn("anna"), "-w", ""],
                         capture_output=True, text=True, timeout=10, check=False)
    assert raw.returncode == 0 and raw.stdout.strip() == "anonymous"
    # The sign-in must not take that for a checked password.
    assert directory.authenticate("anna", "") is None
    assert directory.authenticate("anna", None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("password", ["\u00ad", "\u200b", "Geheim-123\x00", "\ue000"])
def test_passwords_saslprep_refuses_or_empties_are_none(directory, password):
    # ldap3 applies SASLprep: U+00AD maps to nothing (would be an empty, i.e. unauthenticated, bind),
    # NUL and private-use characters are prohibited. Both are "no", not an error.
    assert directory.authenticate("anna", password) is None


def test_unknown_user_is_none(directory):
    assert directory.authenticate("zoe", "Geheim-123") is None
    assert directory.lookup("zoe") is None


def test_umlaut_password(directory):
    user = directory.authenticate("carla", "Zürich-789")
    assert user is not None and user.display == "Carla Christ" and user.group_names == ("sozialamt",)
    assert directory.authenticate("carla", "Zurich-789") is None


def test_bernd_signs_in_with_his_own_password(directory):
    user = directory.authenticate("bernd", "Bernd-456")
    assert user is not None and user.groups == (BUERGERAMT,) and user.display == "Bernd Beispiel"


def test_names_are_matched_case_insensitively_by_the_directory(directory):
    user = directory.authenticate("ANNA", "Geheim-123")
    assert user is not None and user.name == "ANNA" and user.dn == user_dn("anna")  # DN as the directory has it


INJECTIONS = ["*)(uid=*", "*", "anna)(|(uid=*", "anna*", "uid=anna,ou=people", "anna,ou=groups", "anna\x00",
              "anna)(objectClass=*", "\\2a", "anna ", " anna", "", "a" * 65]


@pytest.mark.parametrize("name", INJECTIONS)
def test_injection_attempts_are_none_without_ldap_error(directory, name):
    assert directory.authenticate(name, "Geheim-123") is None
    assert directory.lookup(name) is None


@pytest.mark.parametrize("name", ["*)(uid=*", "*", "anna)(|(uid=*", "anna*", "anna,ou=groups", "anna)(objectClass=*",
                                  "\\2a", "a+cn=x", "#anna"])
def test_escaping_alone_also_stops_injection(directory, name, monkeypatch):
    # Second line of defence: with the name check switched off, the names do reach the real directory,
    # escaped (filter: escape_filter_chars, DN: escape_rdn): no match, no LDAP error.
    monkeypatch.setattr(ldap_module, "_USER_NAME", ldap_module.re.compile(r"(?s).+"))
    assert directory.authenticate(name, "Geheim-123") is None


def test_lookup_with_service_account_finds_bernd_with_groups(ldap):
    for config in (search_config(ldap), template_config(ldap, bind_dn=ldap.admin_dn,
                                                             bind_password=ldap.admin_password)):
        user = LdapDirectory(config).lookup("bernd")
        assert user == LdapUser(name="bernd", dn=user_dn("bernd"), display="Bernd Beispiel",
                                mail="bernd.beispiel@example.org", groups=(BUERGERAMT,),
                                group_names=("buergeramt",))


def test_lookup_without_service_account_reads_anonymously_and_sees_nothing(ldap):
    # The test directory (like most) lets only signed-in users read: anonymous lookup finds no one.
    assert LdapDirectory(template_config(ldap)).lookup("bernd") is None


def test_other_attributes_and_group_filter(ldap):
    config = search_config(ldap, display_attribute="sn", mail_attribute="telephoneNumber",
                           group_filter="(member={dn})")
    user = LdapDirectory(config).authenticate("anna", "Geheim-123")
    assert user is not None and user.display == "Amtmann" and user.mail is None


def test_refused_service_account_is_unavailable_not_a_wrong_password(ldap):
    directory = LdapDirectory(search_config(ldap, bind_password="falsch"))
    with pytest.raises(LdapUnavailable, match="Dienstkonto"):
        directory.authenticate("anna", "Geheim-123")
    with pytest.raises(LdapUnavailable, match="Dienstkonto"):
        LdapDirectory(search_config(ldap, bind_password="")).lookup("anna")


def test_search_style_needs_a_service_account(ldap):
    with pytest.raises(ValueError):
        LdapDirectory(search_config(ldap, bind_dn=None, bind_password=None))


def test_stopped_server_is_unavailable_with_a_german_message(tmp_path):
    with slapd_server(tmp_path) as server:
        directories = [LdapDirectory(template_config(server)), LdapDirectory(search_config(server))]
        assert directories[0].authenticate("anna", "Geheim-123") is not None
        server.stop()
        assert server.process.poll() is not None
        for directory in directories:
            with pytest.raises(LdapUnavailable, match="Verzeichnisdienst .* ist nicht erreichbar") as caught:
                directory.authenticate("anna", "Geheim-123")
            assert server.url in str(caught.value)
            with pytest.raises(LdapUnavailable):
                directory.lookup("anna")


def test_server_that_does_not_answer_times_out(ldap):
    # A socket that accepts connections (kernel backlog) but never speaks LDAP: a hung server.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"ldap://127.0.0.1:{silent.getsockname()[1]}"
        directory = LdapDirectory(template_config(ldap, url=url, timeout=0.5))
        started = time.monotonic()
        with pytest.raises(LdapUnavailable, match="nicht erreichbar oder antwortet nicht"):
            directory.authenticate("anna", "Geheim-123")
        assert time.monotonic() - started < 5
