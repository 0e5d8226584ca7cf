"""The library floor: a run of wscfg from config to applied changes, without a command line.

:mod:`.run` is the run, top-down (load, connect, read, plan, refusals, seal, mask, render or
save, apply, report); :mod:`.session` the connection settings a run uses (server, deadline,
rate limit, plan key) and the public session objects; :mod:`.selection` which targets and
items a run works on; :mod:`.keys` the plan key, sealing and environment masking;
:mod:`.planfile` saved plans; :mod:`.results` what a run hands back. Nothing here prints,
exits, reads ``sys.argv`` or imports click: what the command line shows comes back as
values, events (callbacks) and errors of :mod:`wscfg.errors`.
"""
