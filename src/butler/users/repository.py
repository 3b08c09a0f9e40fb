"""SQL for butler.users and butler.credentials. Every function takes a connection."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from butler.errors import Conflict, NotFound
from butler.users.models import Role, Soul, User

_COLUMNS = (
    "id, username, display_name, role, soul, voice, timezone, created_at, updated_at, home_place"
)
# The same columns of `butler.users u`, for queries that join it.
COLUMNS_OF_U = ", ".join("u." + c for c in _COLUMNS.split(", "))


async def get(conn: asyncpg.Connection, user_id: uuid.UUID) -> User | None:
    record = await conn.fetchrow(f"SELECT {_COLUMNS} FROM butler.users WHERE id = $1", user_id)
    return User.from_record(record) if record else None


async def get_with_password_hash(
    conn: asyncpg.Connection, username: str
) -> tuple[User, str] | None:
    record = await conn.fetchrow(
        f"""SELECT {COLUMNS_OF_U}, c.password_hash
            FROM butler.users u JOIN butler.credentials c ON c.user_id = u.id
            WHERE u.username = $1""",
        username,
    )
    if record is None:
        return None
    return User.from_record(record), record["password_hash"]


async def create(
    conn: asyncpg.Connection,
    *,
    username: str,
    display_name: str,
    role: Role,
    password_hash: str,
) -> User:
    try:
        async with conn.transaction():
            record = await conn.fetchrow(
                f"""INSERT INTO butler.users (username, display_name, role, soul)
                    VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}""",
                username,
                display_name,
                role.value,
                Soul().model_dump(),
            )
            assert record is not None
            await conn.execute(
                "INSERT INTO butler.credentials (user_id, password_hash) VALUES ($1, $2)",
                record["id"],
                password_hash,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"The username '{username}' is taken.", code="username_taken") from None
    return User.from_record(record)


async def update_password_hash(conn: asyncpg.Connection, user_id: uuid.UUID, hashed: str) -> None:
    await conn.execute(
        "UPDATE butler.credentials SET password_hash = $2, updated_at = now() WHERE user_id = $1",
        user_id,
        hashed,
    )


async def update_profile(
    conn: asyncpg.Connection, user_id: uuid.UUID, changes: dict[str, Any]
) -> User:
    """Apply already-validated changes (display_name, soul, voice, timezone, home_place)."""
    allowed = {"display_name", "soul", "voice", "timezone", "home_place"}
    unknown = set(changes) - allowed
    assert not unknown, f"not profile fields: {unknown}"
    if not changes:
        user = await get(conn, user_id)
        if user is None:
            raise NotFound("No such user.")
        return user
    names = list(changes)
    assignments = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    record = await conn.fetchrow(
        f"UPDATE butler.users SET {assignments}, updated_at = now() WHERE id = $1 "
        f"RETURNING {_COLUMNS}",
        user_id,
        *(changes[name] for name in names),
    )
    if record is None:
        raise NotFound("No such user.")
    return User.from_record(record)


async def list_all(conn: asyncpg.Connection) -> list[User]:
    records = await conn.fetch(f"SELECT {_COLUMNS} FROM butler.users ORDER BY created_at, username")
    return [User.from_record(r) for r in records]


async def count(conn: asyncpg.Connection) -> int:
    total: int = await conn.fetchval("SELECT count(*) FROM butler.users")
    return total


async def _lock_admins(conn: asyncpg.Connection) -> int:
    """Lock the admin rows and count them, so two demotions cannot both pass the check."""
    rows = await conn.fetch("SELECT id FROM butler.users WHERE role = 'admin' FOR UPDATE")
    return len(rows)


async def set_role(conn: asyncpg.Connection, user_id: uuid.UUID, role: Role) -> User:
    async with conn.transaction():
        admins = await _lock_admins(conn)
        current = await get(conn, user_id)
        if current is None:
            raise NotFound("No such user.")
        if current.is_admin and role is not Role.ADMIN and admins <= 1:
            raise Conflict("The household needs at least one admin.", code="last_admin")
        record = await conn.fetchrow(
            f"UPDATE butler.users SET role = $2, updated_at = now() WHERE id = $1 "
            f"RETURNING {_COLUMNS}",
            user_id,
            role.value,
        )
        assert record is not None
        return User.from_record(record)


async def delete(conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
    """Delete a user and, through ON DELETE CASCADE, everything they own."""
    async with conn.transaction():
        admins = await _lock_admins(conn)
        current = await get(conn, user_id)
        if current is None:
            raise NotFound("No such user.")
        if current.is_admin and admins <= 1:
            raise Conflict("The household needs at least one admin.", code="last_admin")
        await conn.execute("DELETE FROM butler.users WHERE id = $1", user_id)


async def admin_names(conn: asyncpg.Connection) -> list[str]:
    """The admins' display names, the first admin first."""
    rows = await conn.fetch(
        "SELECT display_name FROM butler.users WHERE role = 'admin' ORDER BY created_at, id"
    )
    return [row["display_name"] for row in rows]
