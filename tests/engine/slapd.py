"""A real OpenLDAP server (Debian's slapd) for the directory sign-in tests, on loopback, in a
temporary folder: ou=people and ou=groups under dc=plant,dc=example, filled with ldap3."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import ldap3

from tests.engine.mailservers import free_port

BASE = "dc=plant,dc=example"
ADMIN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "admin-secret"
SCHEMAS = ("core", "cosine", "inetorgperson")


def slapd_binary() -> str | None:
    return shutil.which("slapd") or next((p for p in ("/usr/sbin/slapd",) if Path(p).exists()), None)


class Slapd:
    """Start slapd with an mdb database; ``add_person``/``add_group``/``remove`` as the admin."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"ldap://127.0.0.1:{self.port}"
        (folder / "db").mkdir()
        includes = "\n".join(f"include /etc/ldap/schema/{s}.schema" for s in SCHEMAS)
        (folder / "slapd.conf").write_text(f"""{includes}
pidfile {folder}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ADMIN}"
rootpw {ADMIN_PASSWORD}
directory {folder}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
""")
        self.log = folder / "slapd.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([slapd_binary(), "-f", str(folder / "slapd.conf"), "-h", f"{self.url}/",
                                             "-d", "0"], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 20
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(f"slapd did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        self.admin = ldap3.Connection(ldap3.Server(self.url), ADMIN, ADMIN_PASSWORD, auto_bind=True)
        self.admin.add(BASE, ["dcObject", "organization"], {"o": "Plant", "dc": "plant"})
        for ou in ("people", "groups"):
            self.admin.add(f"ou={ou},{BASE}", ["organizationalUnit"], {"ou": ou})

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def person_dn(self, uid: str) -> str:
        return f"uid={uid},ou=people,{BASE}"

    def group_dn(self, cn: str) -> str:
        return f"cn={cn},ou=groups,{BASE}"

    def add_person(self, uid: str, password: str, display_name: str, mail: str) -> None:
        assert self.admin.add(self.person_dn(uid), ["inetOrgPerson"],
                              {"cn": display_name, "sn": display_name.split()[-1], "displayName": display_name,
                               "mail": mail, "userPassword": password}), self.admin.result

    def add_group(self, cn: str, members: list[str]) -> None:
        assert self.admin.add(self.group_dn(cn), ["groupOfNames"],
                              {"cn": cn, "member": [self.person_dn(m) for m in members]}), self.admin.result

    def set_password(self, uid: str, password: str) -> None:
        assert self.admin.modify(self.person_dn(uid), {"userPassword": [(ldap3.MODIFY_REPLACE, [password])]})

    def remove(self, uid: str) -> None:
        assert self.admin.delete(self.person_dn(uid)), self.admin.result

    def stop(self) -> None:
        self.admin.unbind()
        self.process.terminate()
        self.process.wait(timeout=10)
