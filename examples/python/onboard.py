"""Onboard an agency's clinics with wscfg as a library.

Create the sub-accounts that do not exist yet, plan, apply, check that a second plan has
nothing left to do, read drift, and post a one-line summary to a chat webhook.

    export WSCFG_SERVER=https://api.example.com WSCFG_TOKEN=<the agency's API key>
    export CHAT_WEBHOOK_URL=https://chat.example.com/hooks/…   # optional: else printed
    python examples/python/onboard.py examples/agency/

Exit status: 0 onboarded, 1 an error (nothing written, or see the message), 3 stopped
part-way (run it again: it picks up where it stopped).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import wscfg


def onboard(paths: list[str]) -> str:
    configs = wscfg.load(paths)  # every problem of every file, as one ConfigError
    with wscfg.connect(**wscfg.settings_from_env()) as ws:
        plans = ws.plan(
            configs,
            create_missing=True,  # new clinics become sub-accounts of the agency
            on_notice=lambda notice: print(notice.text, file=sys.stderr),
        )
        print(wscfg.render(plans, "text"))
        result = ws.apply(plans)
        for line in result.lines(plans.mask):
            print(line)
        result.raise_for_errors()  # ApplyError: exit 3 when something was written
        again = ws.plan(configs)
        if not again.empty:
            raise wscfg.WscfgError(f"{again.changes} change(s) left after apply")
        drift = ws.drift(configs)
    created = f", {len(plans.created)} new sub-account(s)" if plans.created else ""
    return (
        f"wscfg onboarded {len(configs)} clinic(s){created}: {plans.changes} change(s) "
        f"applied, 0 left; {len(drift.new)} drift item(s)."
    )


def post(summary: str) -> None:
    url = os.environ.get("CHAT_WEBHOOK_URL")
    if not url:
        print(summary)
        return
    body = json.dumps({"text": summary}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def main() -> int:
    try:
        post(onboard(sys.argv[1:] or ["."]))
    except wscfg.ConfigError as exc:
        for d in exc.diagnostics:
            print(d.headline(), file=sys.stderr)
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except wscfg.WscfgError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
