"""A saved plan read back (``wscfg apply PLANFILE``, ``wscfg show PLANFILE``): see
:mod:`wscfg.workflow.planfile`."""

from __future__ import annotations

from ..workflow.planfile import SavedPlan as SavedPlan
from ..workflow.planfile import read_saved_plan as read_saved_plan
from ..workflow.planfile import saved_violations as saved_violations
