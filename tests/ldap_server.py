"""A real, throw-away OpenLDAP slapd for the sign-in tests: started per test module, loopback only.

slapd runs in the foreground (``-d 0``) from an old-style ``slapd.conf`` in a temporary folder, with an
mdb database in that folder, and is loaded with a small directory: three people and two groups.
Nothing is mocked; the tests talk LDAP to it over TCP.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ldap3 import NONE, Connection, Server
from ldap3.core.exceptions import LDAPException

SLAPD = "/usr/sbin/slapd"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
START_TIMEOUT = 10.0

BASE = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "Admin-Test-999"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"

# uid -> (cn, sn, mail, password). carla's password has an umlaut: LDAP passwords are UTF-8.
USERS: dict[str, tuple[str, str, str, str]] = {
    "anna": ("Anna Amtmann", "Amtmann", "anna.amtmann@example.org", "Geheim-123"),
    "bernd": ("Bernd Beispiel", "Beispiel", "bernd.beispiel@example.org", "Bernd-456"),
    "carla": ("Carla Christ", "Christ", "carla.christ@example.org", "Zürich-789"),
}
MEMBERS: dict[str, tuple[str, ...]] = {"buergeramt": ("anna", "bernd"), "sozialamt": ("carla",)}


def user_dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


@dataclass
class LdapTestServer:
    url: str
    base: str
    admin_dn: str
    admin_password: str
    process: subprocess.Popen = field(repr=False)
    log: Path = field(repr=False)

    def stop(self) -> None:
        """End slapd (idempotent); SIGKILL if it does not finish within 5 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def ssha(password: str) -> str:
    """An {SSHA} userPassword value, as slappasswd makes it (salted SHA-1; fine for a throw-away directory)."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode("utf-8") + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode("ascii")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_config(root: Path) -> Path:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    schemas = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in ("core", "cosine", "inetorgperson", "nis"))
    conf = root / "slapd.conf"
    # `allow bind_anon_dn`: like Active Directory (and many older servers), answer a bind with a DN and an
    # empty password as a successful *unauthenticated* bind. That is the trap the sign-in must not fall into,
    # so the test directory sets it for real.
    # Access as a real directory would have it: passwords are only usable for binding, and only signed-in
    # users may read; so nothing in the code under test can lean on anonymous reads.
    conf.write_text(f"""{schemas}
allow bind_anon_dn
pidfile {root / "slapd.pid"}
argsfile {root / "slapd.args"}
modulepath {MODULE_DIR}
moduleload back_mdb

database mdb
maxsize 16777216
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {ssha(ADMIN_PASSWORD)}
directory {data}
index objectClass eq
index uid eq
index member,uniqueMember eq

access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by users read
  by * none
""", encoding="utf-8")
    return conf


def _wait_until_answering(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"slapd ended with code {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            conn = Connection(Server(url, get_info=NONE, connect_timeout=1), ADMIN_DN, ADMIN_PASSWORD,
                              receive_timeout=2, auto_bind=True)
            conn.unbind()
            return
        except LDAPException:
            if time.monotonic() > deadline:
                raise RuntimeError(f"slapd did not answer on {url} within {START_TIMEOUT:.0f} s:\n"
                                   f"{log.read_text(errors='replace')}") from None
            time.sleep(0.05)


def _load_entries(url: str) -> None:
    conn = Connection(Server(url, get_info=NONE), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True)
    try:
        conn.add(BASE, ["top", "dcObject", "organization"], {"dc": "example", "o": "Beispielstadt"})
        conn.add(PEOPLE, ["top", "organizationalUnit"], {"ou": "people"})
        conn.add(GROUPS, ["top", "organizationalUnit"], {"ou": "groups"})
        for number, (uid, (cn, sn, mail, password)) in enumerate(USERS.items(), start=1):
            conn.add(user_dn(uid), ["top", "inetOrgPerson", "posixAccount"], {
                "uid": uid, "cn": cn, "sn": sn, "mail": mail, "userPassword": ssha(password),
                "uidNumber": 10000 + number, "gidNumber": 10000, "homeDirectory": f"/home/{uid}",
            })
        for group, members in MEMBERS.items():
            conn.add(f"cn={group},{GROUPS}", ["top", "groupOfNames"],
                     {"cn": group, "member": [user_dn(uid) for uid in members]})
    finally:
        conn.unbind()


def slapd_missing_reason() -> str | None:
    if not os.access(SLAPD, os.X_OK) or not (MODULE_DIR / "back_mdb.so").exists():
        return "slapd not installed (Debian: apt-get install slapd ldap-utils)"
    return None


def start_slapd(root: Path) -> LdapTestServer:
    """Start a loaded slapd under ``root``; the caller must call stop()."""
    reason = slapd_missing_reason()
    if reason is not None:
        # CI installs slapd and sets the variable: there the LDAP tests must run, never skip.
        if os.environ.get("AMTSWISSEN_REQUIRE_LDAP") == "1":
            pytest.fail(f"AMTSWISSEN_REQUIRE_LDAP=1, but {reason}")
        pytest.skip(reason)
    log = root / "slapd.log"
    last_error: Exception | None = None
    for _attempt in range(3):  # the free port can be taken between probing and slapd's bind(): retry
        shutil.rmtree(root, ignore_errors=True)  # a fresh, empty database for every attempt
        conf = _write_config(root)
        port = _free_port()
        url = f"ldap://127.0.0.1:{port}"
        with log.open("wb") as out:
            process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", f"{url}/", "-d", "0"],
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        server = LdapTestServer(url=url, base=BASE, admin_dn=ADMIN_DN, admin_password=ADMIN_PASSWORD,
                                process=process, log=log)
        try:
            _wait_until_answering(process, url, log)
            _load_entries(url)
            return server
        except (RuntimeError, LDAPException) as error:
            server.stop()
            last_error = error
    raise RuntimeError(f"slapd could not be started: {last_error}") from last_error


@contextmanager
def slapd_server(tmp_path: Path) -> Iterator[LdapTestServer]:
    """``with slapd_server(tmp) as ldap:`` a running, loaded slapd; killed on exit, also on errors."""
    server = start_slapd(Path(tmp_path) / "slapd")
    try:
        yield server
    finally:
        server.stop()
