"""`printfleet privacy verify-erasure USER`: prove an erased account left nothing behind."""

from __future__ import annotations

import argparse
import json

from .context import Context
from .erasure_verify import UnknownUser, verify_erasure


class PrivacyCommandError(RuntimeError):
    """A privacy command cannot do what was asked; the message says why."""


def verify(context: Context, args: argparse.Namespace) -> int:
    """Scan every table and store for USER's identifiers; exit 1 if any is found."""
    store = context.open_store(migrate=True)
    try:
        report = verify_erasure(store, context.settings, args.user)
    except UnknownUser as error:
        raise PrivacyCommandError(str(error)) from error
    finally:
        store.stop()
    if args.json:
        print(json.dumps(report.as_json(), indent=2, sort_keys=True))
        return 1 if report.total else 0
    state = "erased account" if report.erased else "LIVE account (not erased)"
    print(f"{args.user}: {state}; {report.total} identifier(s) found")
    for column, count in sorted(report.user_id_columns.items()):
        print(f"  {column:<40} user id        {count:>8} rows")
    for place, kinds in [*sorted(report.tables.items()),
                         *((f"store:{name}", kinds) for name, kinds in report.stores.items())]:
        for kind, count in sorted(kinds.items()):
            print(f"  {place:<40} {kind:<14} {count:>8}")
    for note in report.notes:
        print(f"note: {note}")
    return 1 if report.total else 0
