import json

from hypothesis import given, settings
from hypothesis import strategies as st

from wscfg.engine import render
from wscfg.engine.plan import make_plan
from wscfg.engine.render import Failure

from .helpers import desired, live

SECRET = "hunter2-not-for-logs"


def webhook_plan():
    d = desired(
        {
            "webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": SECRET}],
            "members": [{"email": "owner@acme.example", "role": "owner"}],
        }
    )
    return make_plan(
        d, live({"webhooks": [{"name": "w", "url": "https://h.example.com/", "secret": "old"}]})
    )


def test_text_shows_changes_provenance_and_summary():
    text = render.plan_text(webhook_plan())
    assert text.splitlines() == [
        "Workspace acme (ws.yaml)",
        "  + member owner@acme.example (invite)   (from ws.yaml:10)",
        '      role: "owner"',
        "  ~ webhook w",
        "      secret: changed (sensitive, from ${env:HOOK_SECRET})",
        "  Plan: 1 to add, 1 to change, 0 to delete.",
    ]


def test_no_secret_in_any_format():
    plan = webhook_plan()
    outputs = [
        render.plan_text(plan, colour=True),
        render.plan_json([plan], [], server="s"),
        render.plan_markdown([plan], []),
    ]
    for out in outputs:
        assert SECRET not in out


def test_colour_only_when_asked():
    plan = webhook_plan()
    assert "\x1b[" not in render.plan_text(plan)
    assert "\x1b[32m+ member owner@acme.example (invite)\x1b[0m" in render.plan_text(
        plan, colour=True
    )


def test_big_groups_are_summarized():
    d = desired({"blocked_callers": [f"+1555010{i:04d}" for i in range(50)]})
    text = render.plan_text(make_plan(d, live({})))
    assert text.count("+ blocked caller") == 20
    assert "  … and 30 more blocked callers to create" in text


def test_json_is_the_plan_document_plus_errors():
    doc = json.loads(render.plan_json([webhook_plan()], [Failure("b", "boom")], server="s"))
    assert doc["format"] == "wscfg-plan" and doc["version"] == 2
    assert doc["targets"][0]["summary"] == {"create": 1, "update": 1, "resend": 0, "delete": 0}
    assert doc["errors"] == [{"target": "b", "message": "boom"}]


def test_markdown_summary_first_details_folded():
    md = render.plan_markdown([webhook_plan()], [Failure("other", "401 Unauthorized")])
    lines = md.splitlines()
    assert lines[0] == "### wscfg plan"
    assert "| `acme` | 1 | 1 | 0 | changes |" in lines
    assert "| `other` | – | – | – | **error** |" in lines
    assert "<details><summary><code>acme</code>" in md
    assert "```diff\nWorkspace acme (ws.yaml)\n+ member owner@acme.example" in md


def big_fleet(n_targets, n_items):
    plans = []
    for t in range(n_targets):
        d = desired(
            {
                "workspace": {"slug": f"clinic-{t:04d}", "name": "x" * 50},
                "call_tags": [
                    {"name": f"tag-{i}", "description": "d" * 80} for i in range(n_items)
                ],
            }
        )
        plans.append(make_plan(d, live({}, slug=f"clinic-{t:04d}")))
    return plans


def test_markdown_stays_under_github_limit_and_says_what_it_cut():
    md = render.plan_markdown(big_fleet(300, 30), [])
    assert len(md) <= render.GITHUB_COMMENT_LIMIT
    assert md.endswith(
        "\n_Not shown, to stay under the size limit: 0 table row(s) and 283 detail block(s); "
        "the full plan: `wscfg show PLAN.json --full` on the saved plan "
        "(`wscfg plan -o PLAN.json`)._\n"
    )


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 120), st.integers(0, 40), st.integers(0, 30))
def test_markdown_never_exceeds_the_limit(n_targets, n_items, n_failures):
    failures = [Failure(f"f{i}", "e" * 500) for i in range(n_failures)]
    md = render.plan_markdown(big_fleet(n_targets, n_items), failures)
    assert len(md) <= render.GITHUB_COMMENT_LIMIT


def test_values_from_a_template_name_the_template_line(monkeypatch):
    from pathlib import Path

    from wscfg.config.validate import load_targets
    from wscfg.engine.state import desired_state

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    (north,) = load_targets(["examples/agency/north.yaml"], environ={"SMILE_WEBHOOK_SECRET": "s"})
    plan = make_plan(desired_state(north), live({}, slug="smile-north"))
    lines = render.plan_text(plan).splitlines()
    assert "  ~ workspace   (from examples/agency/north.yaml:12)" in lines
    assert (
        '      name: "smile-north" → "Smile Group North"   (from examples/agency/base.yaml:15)'
        in lines
    )
    assert "  + call tag spam   (from examples/agency/base.yaml:37)" in lines


def test_markdown_lists_refusals_first_and_caps_them():
    from wscfg.engine.safety import Refusal

    found = [Refusal("last_owner", f"owner gone {i}", (f"ws-{i}",)) for i in range(120)]
    md = render.plan_markdown([], [], refusals=found)
    lines = md.splitlines()
    assert lines[:4] == [
        "### wscfg plan",
        "",
        "**⛔ Apply will refuse this plan (120 refusals):**",
        "",
    ]
    assert lines[4] == "- `ws-0`: owner gone 0 (`last_owner`)"
    assert "- … and 70 more" in lines
    assert sum(line.startswith("- `ws-") for line in lines) == 50


def test_markdown_masks_environment_values_before_measuring_the_budget():
    from wscfg.engine.envmask import EnvMask

    value = "hooks.example.com"
    mask = EnvMask({"HOOK_HOST": value}, b"k")
    plan = make_plan(
        desired({"webhooks": [{"name": "w", "url": f"https://{value}/new"}]}),
        live({"webhooks": [{"name": "w", "url": "https://old.example.org/"}]}),
    )
    unmasked = render.plan_markdown([plan], [])
    assert value in unmasked
    text = render.plan_markdown([plan], [], mask=mask.text)
    assert value not in text
    assert mask.marker("HOOK_HOST") in text
    # the budget counts the masked text: a budget that fits it exactly keeps every detail
    assert render.plan_markdown([plan], [], mask=mask.text, budget=len(text)) == text
