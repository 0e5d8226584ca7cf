"""Two agencies creating the same workspace slug at the same moment (issue 22, item 7): the
loser gets 409 "the slug is taken" on SQLite and on PostgreSQL (which used to answer 500 from
the unique violation on workspaces_slug_key), never a 500 and never two workspaces. A real race
over HTTP: the requests are released together from a barrier, many rounds."""

from __future__ import annotations

import threading

import httpx

from wscfg.sandbox.testing import running_server, unique

ROUNDS = 12
RACERS = 4


def test_the_same_slug_created_at_once_by_several_agencies(db_url: str | None) -> None:
    with running_server(db_url) as server:
        agencies = [server.new_agency() for _ in range(RACERS)]
        clients = [
            httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {a.key}"})
            for a in agencies
        ]
        try:
            for c in clients:  # connections open before the race: only the POSTs compete
                assert c.get("/v1/workspaces").status_code == 200
            outcomes: list[list[tuple[int, str]]] = []
            for _ in range(ROUNDS):
                slug = unique("race")
                barrier = threading.Barrier(RACERS)
                got: list[tuple[int, str]] = []

                def race(c: httpx.Client, slug: str = slug, barrier=barrier, got=got) -> None:
                    barrier.wait()
                    r = c.post("/v1/workspaces", json={"slug": slug})
                    got.append((r.status_code, r.text))

                threads = [threading.Thread(target=race, args=(c,)) for c in clients]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=60)
                outcomes.append(got)
                codes = sorted(code for code, _ in got)
                assert codes == [201] + [409] * (RACERS - 1), got
                for code, text in got:
                    if code == 409:
                        assert f"the slug '{slug}' is taken; choose another" in text
                owners = [c.get(f"/v1/workspaces/{slug}").status_code for c in clients]
                assert sorted(owners) == [200] + [404] * (RACERS - 1)  # exactly one agency
        finally:
            for c in clients:
                c.close()
