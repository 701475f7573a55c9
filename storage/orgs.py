"""Organisations, their members and invitations: the records and the queries both backends share.

The SQL is written once with ``?`` placeholders and runs through ``_sql_tx``
(see shared_sql.py). A printer belongs to a user or to an organisation
(``devices.owner_org_id``); the printer reads of each backend scope
themselves with ``printer_scope``.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import Protocol

from .shared_sql import SharedQueries, SqlRunner

ROLES = ("owner", "admin", "operator", "viewer")  # most rights first
MANAGING_ROLES = frozenset({"owner", "admin"})
COMMANDING_ROLES = frozenset({"owner", "admin", "operator"})


class LastOwner(ValueError):
    """A change that would leave an organisation without an owner."""

    def __init__(self) -> None:
        super().__init__("an organisation must keep at least one owner")


@dataclass(frozen=True, slots=True)
class OrgProfile:
    """What an organisation tells about itself (the company details of the privacy policy)."""

    name: str
    email: str = ""
    country: str = ""  # ISO 3166-1 alpha-2, "" when not given
    timezone: str = "UTC"
    address: str = ""
    billing_address: str = ""
    phone: str = ""
    attention: str = ""  # full name of the attention person
    vat_number: str = ""
    ean_number: str = ""


PROFILE_FIELDS = tuple(field.name for field in fields(OrgProfile))
_ORG_COLUMNS = ", ".join(("id",) + PROFILE_FIELDS + ("created_at",))


@dataclass(frozen=True, slots=True)
class Organisation:
    id: int
    profile: OrgProfile
    created_at: float

    @property
    def name(self) -> str:
        return self.profile.name


@dataclass(frozen=True, slots=True)
class OrgMembership:
    """An organisation as one member sees it: with that member's role."""

    org: Organisation
    role: str


@dataclass(frozen=True, slots=True)
class Member:
    user_id: int
    email: str
    first_name: str
    last_name: str
    role: str
    joined_at: float


@dataclass(frozen=True, slots=True)
class Invitation:
    id: int
    org_id: int
    email: str
    role: str
    invited_by: int | None
    created_at: float
    expires_at: float
    accepted_at: float | None
    accepted_by: int | None


_INVITATION_COLUMNS = ("id, org_id, email, role, invited_by, created_at, expires_at, "
                       "accepted_at, accepted_by")
_ROLE_RANK = "CASE {col} WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'operator' THEN 2 ELSE 3 END"
_IS_MANAGER = ("EXISTS (SELECT 1 FROM org_members WHERE org_id = ? AND user_id = ? "
               "AND role IN ('owner', 'admin'))")

# The role a printer row reports: owner of a personal printer, else the
# member's role in the printer's organisation.
PRINTER_ROLE = "CASE WHEN d.owner_org_id IS NULL THEN 'owner' ELSE m.role END"


def printer_scope(placeholder: str) -> tuple[str, str]:
    """Return the join and filter limiting printer reads to one user (the user id twice)."""
    join = f"LEFT JOIN org_members m ON m.org_id = d.owner_org_id AND m.user_id = {placeholder}"
    where = (f"AND ((d.owner_org_id IS NULL AND d.owner_user_id = {placeholder}) "
             "OR m.role IS NOT NULL)")
    return join, where


def _organisation(row: tuple) -> Organisation:
    return Organisation(row[0], OrgProfile(*row[1:-1]), row[-1])


class OrgStore(Protocol):
    """What the stores offer about organisations (each backend mixes in OrgQueries)."""

    def create_organisation(self, creator_user_id: int, profile: OrgProfile,
                            now: float) -> Organisation:
        """Add an organisation whose first owner is its creator."""
        ...

    def organisation(self, org_id: int) -> Organisation | None:
        """An organisation, whoever asks: callers decide who may see it."""
        ...

    def membership(self, user_id: int, org_id: int) -> OrgMembership | None:
        """The organisation with the user's role; None if the user is not a member."""
        ...

    def organisations_for_user(self, user_id: int) -> list[OrgMembership]: ...

    def update_organisation(self, org_id: int, profile: OrgProfile) -> bool: ...

    def org_members(self, org_id: int) -> list[Member]:
        """Members, owners first, then by email."""
        ...

    def set_member_role(self, org_id: int, user_id: int, role: str) -> bool:
        """Change a member's role; raise LastOwner rather than demote the last owner."""
        ...

    def remove_member(self, org_id: int, user_id: int) -> bool:
        """Remove a member; raise LastOwner rather than remove the last owner."""
        ...

    def create_invitation(self, org_id: int, email: str, role: str, token_hash: str,
                          invited_by: int, now: float, expires_at: float) -> Invitation: ...

    def invitation_by_token(self, token_hash: str) -> Invitation | None: ...

    def pending_invitations(self, org_id: int, now: float) -> list[Invitation]: ...

    def revoke_invitation(self, org_id: int, invitation_id: int) -> bool: ...

    def accept_invitation(self, invitation_id: int, user_id: int, now: float) -> bool:
        """Use an unexpired, unused invitation: the user joins with its role."""
        ...

    def move_printer_to_org(self, user_id: int, device_id: str, org_id: int) -> bool:
        """Give one of the user's printers to an organisation the user manages."""
        ...

    def move_printer_to_user(self, user_id: int, device_id: str, org_id: int) -> bool:
        """Take an organisation's printer back to a user who manages the organisation."""
        ...


class OrgQueries(SharedQueries):
    """Organisations, members and invitations, on whichever store this is mixed into."""

    def create_organisation(self, creator_user_id: int, profile: OrgProfile,
                            now: float) -> Organisation:
        marks = ", ".join("?" * (len(PROFILE_FIELDS) + 1))
        with self._sql_tx() as tx:
            rows, _ = tx.run(f"INSERT INTO organisations ({', '.join(PROFILE_FIELDS)}, "
                             f"created_at) VALUES ({marks}) RETURNING {_ORG_COLUMNS}",
                             astuple(profile) + (now,))
            org = _organisation(rows[0])
            tx.run("INSERT INTO org_members (org_id, user_id, role, joined_at) "
                   "VALUES (?, ?, 'owner', ?)", (org.id, creator_user_id, now))
        return org

    def organisation(self, org_id: int) -> Organisation | None:
        rows = self._run(f"SELECT {_ORG_COLUMNS} FROM organisations WHERE id = ?", (org_id,))
        return _organisation(rows[0]) if rows else None

    def membership(self, user_id: int, org_id: int) -> OrgMembership | None:
        rows = self._run(f"SELECT {_prefixed('o', _ORG_COLUMNS)}, m.role FROM organisations o "
                         "JOIN org_members m ON m.org_id = o.id WHERE o.id = ? AND m.user_id = ?",
                         (org_id, user_id))
        return OrgMembership(_organisation(rows[0][:-1]), rows[0][-1]) if rows else None

    def organisations_for_user(self, user_id: int) -> list[OrgMembership]:
        rows = self._run(f"SELECT {_prefixed('o', _ORG_COLUMNS)}, m.role FROM organisations o "
                         "JOIN org_members m ON m.org_id = o.id WHERE m.user_id = ? "
                         "ORDER BY lower(o.name), o.id", (user_id,))
        return [OrgMembership(_organisation(row[:-1]), row[-1]) for row in rows]

    def update_organisation(self, org_id: int, profile: OrgProfile) -> bool:
        assignments = ", ".join(f"{name} = ?" for name in PROFILE_FIELDS)
        with self._sql_tx() as tx:
            _, count = tx.run(f"UPDATE organisations SET {assignments} WHERE id = ?",
                              astuple(profile) + (org_id,))
        return count == 1

    def org_members(self, org_id: int) -> list[Member]:
        rows = self._run("SELECT u.id, u.email, u.first_name, u.last_name, m.role, m.joined_at "
                         "FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? "
                         f"ORDER BY {_ROLE_RANK.format(col='m.role')}, lower(u.email), u.id",
                         (org_id,))
        return [Member(*row) for row in rows]

    def set_member_role(self, org_id: int, user_id: int, role: str) -> bool:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._sql_tx() as tx:
            current = _role_locked(tx, org_id, user_id)
            if current is None:
                return False
            if current == "owner" and role != "owner":
                _check_another_owner(tx, org_id)
            tx.run("UPDATE org_members SET role = ? WHERE org_id = ? AND user_id = ?",
                   (role, org_id, user_id))
        return True

    def remove_member(self, org_id: int, user_id: int) -> bool:
        with self._sql_tx() as tx:
            current = _role_locked(tx, org_id, user_id)
            if current is None:
                return False
            if current == "owner":
                _check_another_owner(tx, org_id)
            tx.run("DELETE FROM org_members WHERE org_id = ? AND user_id = ?", (org_id, user_id))
        return True

    def create_invitation(self, org_id: int, email: str, role: str, token_hash: str,
                          invited_by: int, now: float, expires_at: float) -> Invitation:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._sql_tx() as tx:
            rows, _ = tx.run("INSERT INTO org_invitations (org_id, email, role, token_hash, "
                             "invited_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                             f"RETURNING {_INVITATION_COLUMNS}",
                             (org_id, email, role, token_hash, invited_by, now, expires_at))
        return Invitation(*rows[0])

    def invitation_by_token(self, token_hash: str) -> Invitation | None:
        rows = self._run(f"SELECT {_INVITATION_COLUMNS} FROM org_invitations "
                         "WHERE token_hash = ?", (token_hash,))
        return Invitation(*rows[0]) if rows else None

    def pending_invitations(self, org_id: int, now: float) -> list[Invitation]:
        rows = self._run(f"SELECT {_INVITATION_COLUMNS} FROM org_invitations WHERE org_id = ? "
                         "AND accepted_at IS NULL AND expires_at > ? ORDER BY created_at, id",
                         (org_id, now))
        return [Invitation(*row) for row in rows]

    def revoke_invitation(self, org_id: int, invitation_id: int) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("DELETE FROM org_invitations WHERE id = ? AND org_id = ? "
                              "AND accepted_at IS NULL", (invitation_id, org_id))
        return count == 1

    def accept_invitation(self, invitation_id: int, user_id: int, now: float) -> bool:
        with self._sql_tx() as tx:
            # One statement decides, so two tabs accepting at once use it once.
            _, count = tx.run("UPDATE org_invitations SET accepted_at = ?, accepted_by = ? "
                              "WHERE id = ? AND accepted_at IS NULL AND expires_at > ?",
                              (now, user_id, invitation_id, now))
            if count != 1:
                return False
            # Someone who is a member already keeps the role they have.
            tx.run("INSERT INTO org_members (org_id, user_id, role, joined_at) "
                   "SELECT org_id, ?, role, ? FROM org_invitations WHERE id = ? "
                   "ON CONFLICT (org_id, user_id) DO NOTHING", (user_id, now, invitation_id))
        return True

    def move_printer_to_org(self, user_id: int, device_id: str, org_id: int) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE devices SET owner_org_id = ?, owner_user_id = NULL "
                              "WHERE device_id = ? AND owner_user_id = ? AND owner_org_id IS NULL "
                              f"AND revoked_at IS NULL AND {_IS_MANAGER}",
                              (org_id, device_id, user_id, org_id, user_id))
        return count == 1

    def move_printer_to_user(self, user_id: int, device_id: str, org_id: int) -> bool:
        with self._sql_tx() as tx:
            _, count = tx.run("UPDATE devices SET owner_user_id = ?, owner_org_id = NULL "
                              "WHERE device_id = ? AND owner_org_id = ? AND revoked_at IS NULL "
                              f"AND {_IS_MANAGER}", (user_id, device_id, org_id, org_id, user_id))
        return count == 1


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in columns.split(","))


def _role_locked(tx: SqlRunner, org_id: int, user_id: int) -> str | None:
    """A member's role, after locking the organisation against concurrent role changes."""
    # Without the lock two owners demoting each other at once on PostgreSQL
    # would each still count the other, and leave none.
    tx.run("UPDATE organisations SET name = name WHERE id = ?", (org_id,))
    rows, _ = tx.run("SELECT role FROM org_members WHERE org_id = ? AND user_id = ?",
                     (org_id, user_id))
    return rows[0][0] if rows else None


def _check_another_owner(tx: SqlRunner, org_id: int) -> None:
    rows, _ = tx.run("SELECT COUNT(*) FROM org_members WHERE org_id = ? AND role = 'owner'",
                     (org_id,))
    if rows[0][0] < 2:
        raise LastOwner()
