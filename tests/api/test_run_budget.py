"""One rate budget for the whole run (issue 22 item 2), across its steps: a run opens a
connection per step (plan, apply, the re-plan of ``--create-missing``), and each step's client
takes the budget the earlier steps learned. A step that started blind would send a request the
server's bucket has no room for. Against a rate-limited sandbox over HTTP; 429s are counted
from the sandbox's access log."""

from __future__ import annotations

from wscfg.api.settings import ServerSettings
from wscfg.sandbox.testing import running_server
from wscfg.workflow.settings import Settings


async def _read(settings: Settings, times: int) -> object:
    async with settings.connection() as conn:
        for _ in range(times):
            await conn.client.list_workspaces()
        return conn.client.pacer


def test_the_steps_of_a_run_share_one_request_budget(tmp_path):
    lines: list[str] = []
    # One request per second, a bucket of one: any request sent blind right after another
    # is refused. The pacer keeps a margin under the advertised rate, so it waits instead.
    with running_server(rate_limit=1, rate_burst=1, access_log=lines.append) as server:
        key = server.new_agency().key
        settings = Settings.of(lambda: ServerSettings(server.url, key), root=tmp_path, timeout=0)
        first = settings.run(_read(settings, 2))
        second = settings.run(_read(settings, 2))
        third = settings.run(_read(settings, 1))
    statuses = [line.split(" ")[2] for line in lines]
    assert statuses == ["200"] * 5, lines
    assert first is second is third


def test_another_server_or_key_gets_its_own_budget(tmp_path):
    with running_server() as one, running_server() as two:
        a, b, c = one.new_agency().key, one.new_agency().key, two.new_agency().key
        targets = iter([(one.url, a), (one.url, b), (two.url, c), (one.url, a)])
        settings = Settings.of(lambda: ServerSettings(*next(targets)), root=tmp_path, timeout=0)
        pacers = [settings.run(_read(settings, 1)) for _ in range(4)]
    assert len({id(p) for p in pacers[:3]}) == 3
    assert pacers[3] is pacers[0]
