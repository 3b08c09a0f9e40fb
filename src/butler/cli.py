"""The `butler` command: serve | migrate | invite | doctor | secrets | backup | restore | voice |
talk | memory | openapi.

The CLI is an entry point: it builds Settings, resolves secrets and hands plain values
down. Errors print one line saying what to fix, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
from pydantic import ValidationError

from butler import logs
from butler.config import Settings
from butler.db.pool import connect
from butler.errors import ButlerError
from butler.secret_keys import resolve_secrets

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a duration; use a number and a unit: 30m, 12h, 7d or 2w"
        )
    value = timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
    if value <= timedelta(0) or value > timedelta(days=90):
        raise argparse.ArgumentTypeError("an invite lasts more than 0 and at most 90 days")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="butler", description="Butler, a household AI butler.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the Butler API (and embedded PostgreSQL)")
    serve.add_argument("--host", help="address to listen on (default: BUTLER_SERVER__HOST)")
    serve.add_argument("--port", type=int, help="port (default: BUTLER_SERVER__PORT, 8000)")
    serve.add_argument(
        "--lan",
        nargs="?",
        const="auto",
        metavar="ADDRESS",
        help="serve phones and computers on the home network: HTTPS with a local "
        "certificate, voice at this address (default: found from the network)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="API processes, about one per core (default: BUTLER_SERVER__WORKERS, 1)",
    )

    commands.add_parser("migrate", help="apply database migrations and exit")

    invite = commands.add_parser("invite", help="print a one-time invite code")
    invite.add_argument("--admin", action="store_true", help="the invitee becomes an admin")
    invite.add_argument(
        "--expires",
        type=parse_duration,
        help="how long the code stays valid: 30m, 12h, 7d, 2w "
        "(default: BUTLER_AUTH__INVITE_TTL_DAYS, 7 days)",
    )

    doctor = commands.add_parser(
        "doctor", help="check the whole stack (OK or FAIL each, with the fix); exit 1 on a FAIL"
    )
    doctor.add_argument(
        "--quick", action="store_true", help="skip the speech round trip (TTS, then STT)"
    )

    memory = commands.add_parser("memory", help="long-term memory maintenance")
    memory_commands = memory.add_subparsers(dest="memory_command", required=True, metavar="ACTION")
    reembed = memory_commands.add_parser(
        "reembed",
        help="embed facts again with the configured model (after changing model or dimensions)",
    )
    reembed.add_argument(
        "--all", action="store_true", help="every fact, not only those from another model"
    )

    backup = commands.add_parser(
        "backup", help="write the database and the data folder's secrets to one archive"
    )
    backup.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="the archive file, or a folder for butler-backup-<time>.tar (default: here)",
    )
    restore = commands.add_parser(
        "restore", help="replace Butler's data with a backup's (Butler must be stopped)"
    )
    restore.add_argument("archive", type=Path, help="a file written by `butler backup`")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    secrets = commands.add_parser(
        "secrets",
        help="write a production .env with strong random secrets (never replaces one)",
    )
    secrets.add_argument(
        "--out", type=Path, default=Path(".env"), help="the file to write or add to (.env)"
    )

    openapi = commands.add_parser(
        "openapi", help="write the API's OpenAPI document (the web app's types come from it)"
    )
    openapi.add_argument("--out", type=Path, help="write to this file instead of stdout")

    commands.add_parser(
        "voice", help="run the LiveKit voice worker (agent 'butler'; needs a LiveKit server)"
    )

    talk = commands.add_parser(
        "talk", help="speak a WAV to Butler without LiveKit and hear (or save) the answer"
    )
    talk.add_argument("wav", type=Path, help="16-bit PCM WAV with the question")
    talk.add_argument("--out", type=Path, help="write the spoken reply to this WAV")
    talk.add_argument("--user", help="who is talking (default: the only user)")
    talk.add_argument(
        "--stt",
        choices=["local", "groq", "openai"],
        default="local",
        help="speech to text (default: local)",
    )
    talk.add_argument(
        "--tts",
        choices=["piper", "kokoro"],
        default="piper",
        help="text to speech (default: piper)",
    )
    return parser


def _database_url(settings: Settings) -> str | None:
    return settings.database_url.get_secret_value() if settings.database_url else None


def _run_migrate(settings: Settings) -> int:
    from butler.db import migrate
    from butler.db.runtime import open_database

    with open_database(settings.data_dir, _database_url(settings)) as dsn:
        migrate.upgrade(dsn)
    print(f"Database is at migration {migrate.head_revision()}.")
    return 0


def _run_invite(settings: Settings, admin: bool, expires: timedelta | None) -> int:
    from butler.auth import invites
    from butler.db import migrate
    from butler.db.runtime import open_database
    from butler.users.models import Role

    ttl = expires or timedelta(days=settings.auth.invite_ttl_days)
    role = Role.ADMIN if admin else Role.MEMBER

    async def create(dsn: str) -> invites.Invite:
        conn = await connect(dsn)
        try:
            return await invites.create(conn, role=role, ttl=ttl)
        finally:
            await conn.close()

    with open_database(settings.data_dir, _database_url(settings)) as dsn:
        migrate.upgrade(dsn)
        invite = asyncio.run(create(dsn))
    print(invite.code)
    print(
        f"({role.value} invite, single use, valid until {invite.expires_at:%Y-%m-%d %H:%M %Z})",
        file=sys.stderr,
    )
    return 0


def _run_backup(settings: Settings, out: Path) -> int:
    from butler.backup import backup
    from butler.db.runtime import open_database

    with open_database(settings.data_dir, _database_url(settings)) as dsn:
        backup(dsn, settings.data_dir, out)
    return 0


def _run_restore(settings: Settings, archive: Path, *, confirmed: bool) -> int:
    from butler.backup import read_archive, restore
    from butler.db.embedded import exclusive_serve_lock
    from butler.db.runtime import open_database

    if not archive.is_file():
        print(
            f"butler: {archive} is not a file: give the archive `butler backup` wrote",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory() as check:
        read_archive(archive, Path(check))  # a bad archive is refused before anything changes
    if not confirmed:
        if not sys.stdin.isatty():
            print(
                "butler: restore replaces all of Butler's data: add --yes to confirm",
                file=sys.stderr,
            )
            return 2
        answer = input(f"Replace all of Butler's data with {archive}? Type 'restore': ")
        if answer.strip() != "restore":
            print("Nothing was changed.")
            return 1
    with (
        exclusive_serve_lock(settings.data_dir),
        open_database(settings.data_dir, _database_url(settings)) as dsn,
    ):
        restore(dsn, settings.data_dir, archive)
    return 0


def _run_secrets(path: Path) -> int:
    from butler.env_secrets import write_secrets

    try:
        report = write_secrets(path)
    except ButlerError as exc:
        print(f"butler: {exc.message}", file=sys.stderr)
        return 2
    for name in report.added:
        print(f"added {name}")
    for name in report.kept:
        print(f"kept {name} (already set)")
    for warning in report.warnings:
        print(f"warning: {warning}; production will refuse it", file=sys.stderr)
    print(f"{path}: {len(report.added)} added, {len(report.kept)} kept (values not shown)")
    return 1 if report.warnings else 0


def _run_doctor(settings: Settings, *, speech: bool) -> int:
    from butler.doctor import diagnose

    problems = diagnose(settings, _database_url(settings), speech=speech)
    print(f"{len(problems)} failed: {', '.join(problems)}" if problems else "All checks passed.")
    return 1 if problems else 0


def _run_voice(settings: Settings) -> int:
    from butler.voice.turn_models import load_turn_model
    from butler.voice.worker import run_worker

    # A missing end-of-turn model is a clear error now, not a failure in every session.
    load_turn_model(settings.voice.end_of_turn, settings.voice.smart_turn_model)
    print(
        f"Voice worker for {settings.livekit.server_url}, agent '{settings.livekit.agent_name}', "
        f"Butler API at {settings.api_url}",
        flush=True,
    )
    asyncio.run(run_worker(settings))
    return 0


def _run_reembed(settings: Settings, everything: bool) -> int:
    from butler.db import migrate
    from butler.db.runtime import open_database
    from butler.memory.embeddings import build_embedder
    from butler.memory.reembed import progress_bar, reembed

    embedder = build_embedder(settings.memory)
    if embedder is None:
        print(
            "butler: embeddings are off (BUTLER_MEMORY__EMBEDDING_PROVIDER=none); "
            "there is nothing to re-embed",
            file=sys.stderr,
        )
        return 2

    async def run(dsn: str) -> int:
        conn = await connect(dsn)
        try:
            return await reembed(conn, embedder, everything=everything, progress=progress_bar())
        finally:
            await conn.close()

    with open_database(settings.data_dir, _database_url(settings)) as dsn:
        migrate.upgrade(dsn)
        count = asyncio.run(run(dsn))
    print(f"Re-embedded {count} fact(s) with {embedder.model_id}.")
    return 0


def _run_openapi(settings: Settings, out: Path | None) -> int:
    from butler.api.app import openapi_document

    logging.getLogger("butler").setLevel(logging.ERROR)  # stdout is the document
    text = json.dumps(openapi_document(settings), indent=2, sort_keys=True) + "\n"
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        out.write_text(text)
    except OSError as exc:
        print(f"butler: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0


def _describe_settings_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        path = [str(p) for p in error["loc"]]
        variable = "BUTLER_" + "__".join(p.upper() for p in path)
        lines.append(f"  {variable}: {error['msg']}")
    return "invalid settings:\n" + "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "secrets":  # before Settings: the file it writes may not be valid yet
        return _run_secrets(args.out)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"butler: {_describe_settings_error(exc)}", file=sys.stderr)
        return 2
    if args.command == "openapi":  # needs no secrets, no database and no log
        return _run_openapi(settings, args.out)
    logs.configure(settings.log_level, json_lines=settings.json_logs)
    try:
        settings = resolve_secrets(settings)
        if args.command == "serve":
            from butler.api.server import serve

            if args.workers is not None:
                if not 1 <= args.workers <= 64:
                    print("butler: --workers takes a number from 1 to 64", file=sys.stderr)
                    return 2
                server = settings.server.model_copy(update={"workers": args.workers})
                settings = settings.model_copy(update={"server": server})

            host = args.host or settings.server.host
            if args.lan is not None:
                from butler.stack.home_network import on_home_network

                settings, lan_host = on_home_network(settings, args.lan)
                host = args.host or lan_host
            serve(settings, host=host, port=args.port or settings.server.port)
            return 0
        if args.command == "migrate":
            return _run_migrate(settings)
        if args.command == "invite":
            return _run_invite(settings, args.admin, args.expires)
        if args.command == "voice":
            return _run_voice(settings)
        if args.command == "backup":
            return _run_backup(settings, args.out)
        if args.command == "restore":
            return _run_restore(settings, args.archive, confirmed=args.yes)
        if args.command == "memory":
            return _run_reembed(settings, args.all)
        if args.command == "talk":
            from butler.talk import run_talk

            settings = settings.model_copy(
                update={
                    "stt": settings.stt.model_copy(update={"provider": args.stt}),
                    "tts": settings.tts.model_copy(update={"provider": args.tts}),
                }
            )
            return run_talk(settings, args.wav, args.out, args.user)
        return _run_doctor(settings, speech=not args.quick)
    except ButlerError as exc:
        print(f"butler: {exc.message}", file=sys.stderr)
        return 2
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"butler: database or file error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
