"""The fake ML system: real HTTP services on real ports, broken on purpose.

Drills, the demo and tests start a :class:`FakeSystem` and drive its faults through the
control endpoint (or :class:`FakeControl`). Importing this package starts nothing.
"""

from mlops_oncall.drills.fake.catalog import FAULTS, SERVICES, faults_for, ports_from_base
from mlops_oncall.drills.fake.client import ControlError, FakeControl
from mlops_oncall.drills.fake.faults import FaultError
from mlops_oncall.drills.fake.system import FakeSystem

__all__ = [
    "FAULTS",
    "SERVICES",
    "ControlError",
    "FakeControl",
    "FakeSystem",
    "FaultError",
    "faults_for",
    "ports_from_base",
]
