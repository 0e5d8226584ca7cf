"""Policies on a fleet plan: 500 sub-accounts, 10 policies, ≤ 10% over the same plan without
them (DESIGN §8, docs/policies.md).

    python bench/fleet_policies.py                    # 500 workspaces, 5 runs
    python bench/fleet_policies.py --workspaces 100 --runs 3

The fleet of bench/fleet_plan.py (seeded straight into one sandbox's database, ~100 items per
workspace), planned by `wscfg plan DIR` as a whole process from two config folders that differ
only in the template: A has no policies, B adds 10 (patterns, consts, contains, maxItems…),
which every workspace satisfies on its config and live (the common case: nothing to report,
every policy checked). A and B alternate (A B A B …); each pair's ratio is a run's verdict and
the median ratio is the result. The same ratios of the plan process's CPU seconds (user +
system, from wait4) are printed beside them: on a shared machine they move less than wall
time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
from pathlib import Path

from common import cpu_model, serve
from fleet_plan import seed, write_configs, wscfg_plan, wscfg_plan_usage


def _items(prop: str, schema: dict) -> dict:
    return {"properties": {prop: {"items": schema}}}


def _field(kind: str, name: str, schema: dict) -> dict:
    return _items(kind, {"properties": {name: schema}})


TEN = [
    (
        "require-owner",
        "Every workspace keeps an owner.",
        {"properties": {"members": {"contains": {"properties": {"role": {"const": "owner"}}}}}},
    ),
    (
        "member-domains",
        "Members sign in with an agency or clinic address.",
        _field("members", "email", {"pattern": "@(agency|clinic[0-9]+)\\.example$"}),
    ),
    (
        "webhook-hosts",
        "Webhooks call only the agency's hosts.",
        _field("webhooks", "url", {"pattern": "^https://hooks\\.example\\.com/"}),
    ),
    (
        "tag-colours",
        "Tag colours are lower-case hex.",
        _field("call_tags", "color", {"pattern": "^#[0-9a-f]{6}$"}),
    ),
    (
        "no-billing-write",
        "No API key may change billing.",
        _field("api_keys", "scopes", {"not": {"contains": {"const": "billing:write"}}}),
    ),
    (
        "api-key-scopes",
        "API keys may only read.",
        _field("api_keys", "scopes", {"items": {"pattern": ":read$"}}),
    ),
    ("few-webhooks", "At most ten webhooks.", {"properties": {"webhooks": {"maxItems": 10}}}),
    (
        "blocked-numbers",
        "Blocked numbers are E.164.",
        _items(
            "blocked_callers",
            {
                "anyOf": [
                    {"type": "string", "pattern": "^\\+?[0-9 ]+$"},
                    {"type": "object", "properties": {"number": {"pattern": "^\\+[0-9]+$"}}},
                ]
            },
        ),
    ),
    (
        "clinic-slugs",
        "Sub-accounts are named clinic-NNNN.",
        {"properties": {"workspace": {"properties": {"slug": {"pattern": "^clinic-[0-9]{4}$"}}}}},
    ),
    ("team-size", "At most 100 members.", {"properties": {"members": {"maxItems": 100}}}),
]
# JSON is YAML: one flow mapping per policy
POLICIES = "\npolicies:\n" + "".join(
    "  - " + json.dumps({"name": n, "description": d, "schema": s}) + "\n" for n, d, s in TEN
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"# machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}")
    print(f"# fleet: {args.workspaces} workspaces, 10 policies (B) vs none (A)")
    with tempfile.TemporaryDirectory(prefix="wscfg-policies-") as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'sandbox.db'}"
        key, slugs = seed(db_url, args.workspaces)
        plain = folder / "a"
        plain.mkdir()
        write_configs(plain, slugs)
        guarded = folder / "b"
        shutil.copytree(plain, guarded)
        base = guarded / "base.yaml"
        base.write_text(base.read_text() + POLICIES)
        with serve(db_url, start_timeout=300) as url:
            wscfg_plan(plain, url, key)  # warm-up (also proves both fleets plan to no changes)
            wscfg_plan(guarded, url, key)
            a_times, b_times, a_cpu, b_cpu = [], [], [], []
            for _ in range(args.runs):
                wall, _rss, cpu = wscfg_plan_usage(plain, url, key)
                a_times.append(wall)
                a_cpu.append(cpu)
                wall, _rss, cpu = wscfg_plan_usage(guarded, url, key)
                b_times.append(wall)
                b_cpu.append(cpu)
    per_run = [round(b / a, 3) for a, b in zip(a_times, b_times, strict=True)]
    ratio = statistics.median(per_run)
    cpu_per_run = [round(b / a, 3) for a, b in zip(a_cpu, b_cpu, strict=True)]
    result = {
        "no_policies_median_s": round(statistics.median(a_times), 2),
        "ten_policies_median_s": round(statistics.median(b_times), 2),
        "ratio_median": round(ratio, 3),
        "ratio_per_run": per_run,
        "budget": 1.10,
        "met": ratio <= 1.10,
        # the plan process's own CPU seconds (user + system): less moved by other load
        "no_policies_cpu_median_s": round(statistics.median(a_cpu), 2),
        "ten_policies_cpu_median_s": round(statistics.median(b_cpu), 2),
        "cpu_ratio_median": round(statistics.median(cpu_per_run), 3),
        "cpu_ratio_per_run": cpu_per_run,
        "runs": args.runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
