"""Policies on a fleet plan: 500 sub-accounts, 10 policies, ≤ 10% over the same plan without
them (DESIGN §8, docs/policies.md).

    python bench/fleet_policies.py                    # 500 workspaces, 5 runs
    python bench/fleet_policies.py --workspaces 100 --runs 3

The fleet of bench/fleet_plan.py (seeded straight into one sandbox's database, ~100 items per
workspace), planned by `wscfg plan DIR` as a whole process from two config folders that differ
only in the template: A has no policies, B adds 10 (patterns, consts, contains, maxItems…),
which every workspace satisfies on its config and live (the common case: nothing to report,
every policy checked). A and B alternate (A B A B …); each pair's ratio is a run's verdict and
the median ratio is the result.
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
from fleet_plan import seed, write_configs, wscfg_plan

POLICIES = r"""
policies:
  - name: require-owner
    description: Every workspace keeps an owner.
    schema: {properties: {members: {contains: {required: [role], properties: {role: {const: owner}}}}}}
  - name: member-domains
    description: Members sign in with an agency or clinic address.
    schema: {properties: {members: {items: {properties: {email: {pattern: "@(agency|clinic[0-9]+)\\.example$"}}}}}}
  - name: webhook-hosts
    description: Webhooks call only the agency's hosts.
    schema: {properties: {webhooks: {items: {properties: {url: {pattern: "^https://hooks\\.example\\.com/"}}}}}}
  - name: tag-colours
    description: Tag colours are lower-case hex.
    schema: {properties: {call_tags: {items: {properties: {color: {pattern: "^#[0-9a-f]{6}$"}}}}}}
  - name: no-billing-write
    description: No API key may change billing.
    schema: {properties: {api_keys: {items: {properties: {scopes: {not: {contains: {const: "billing:write"}}}}}}}}
  - name: api-key-scopes
    description: API keys may only read.
    schema: {properties: {api_keys: {items: {properties: {scopes: {items: {pattern: ":read$"}}}}}}}
  - name: few-webhooks
    description: At most ten webhooks.
    schema: {properties: {webhooks: {maxItems: 10}}}
  - name: blocked-numbers
    description: Blocked numbers are E.164.
    schema:
      properties:
        blocked_callers:
          items:
            anyOf:
              - {type: string, pattern: "^\\+?[0-9 ]+$"}
              - {type: object, properties: {number: {pattern: "^\\+[0-9]+$"}}}
  - name: clinic-slugs
    description: Sub-accounts are named clinic-NNNN.
    schema: {properties: {workspace: {properties: {slug: {pattern: "^clinic-[0-9]{4}$"}}}}}
  - name: team-size
    description: At most 100 members.
    schema: {properties: {members: {maxItems: 100}}}
"""


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
        with serve(db_url) as url:
            wscfg_plan(plain, url, key)  # warm-up (also proves both fleets plan to no changes)
            wscfg_plan(guarded, url, key)
            a_times, b_times = [], []
            for _ in range(args.runs):
                a_times.append(wscfg_plan(plain, url, key))
                b_times.append(wscfg_plan(guarded, url, key))
    per_run = [round(b / a, 3) for a, b in zip(a_times, b_times, strict=True)]
    ratio = statistics.median(per_run)
    result = {
        "no_policies_median_s": round(statistics.median(a_times), 2),
        "ten_policies_median_s": round(statistics.median(b_times), 2),
        "ratio_median": round(ratio, 3),
        "ratio_per_run": per_run,
        "budget": 1.10,
        "met": ratio <= 1.10,
        "runs": args.runs,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
