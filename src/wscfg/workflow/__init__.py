"""The library floor: a run of wscfg from config to applied changes, without a command line.

:mod:`.run` is the run, top-down (load, connect, read, plan, refusals, seal, mask, render or
save, apply, report); :mod:`.settings` what a run connects with (server, deadline, rate
limit, plan key); :mod:`.selection` which targets and items a run works on; :mod:`.keys`
sealing and environment masking; :mod:`.planfile` saved plans; :mod:`.report` plans as
text, json and markdown; :mod:`.results` what a run hands back; :mod:`.session` and
:mod:`.public` the public API that ``wscfg/__init__.py`` re-exports. Nothing here prints,
exits, reads ``sys.argv`` or imports click: what the command line shows comes back as
values, events (callbacks) and errors of :mod:`wscfg.errors`.
"""
