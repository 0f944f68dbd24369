"""Method registry: name -> IRLMethod subclass. Adding a method is one file and one line here;
a method from outside the package is added to METHODS by benchmark/plugins.py (never under a
built-in name)."""

from __future__ import annotations

from methods.base import IRLMethod
from methods.lfl import LfL
from methods.adversarial import AIRL, GAIL
from methods.dac import DAC
from methods.gcl import GuidedCostLearning
from methods.iq_learn import IQLearn
from methods.logel import LOGEL
from methods.maxent import MaxEntIRL
from methods.trex import TREX

BUILTIN: dict[str, type[IRLMethod]] = {cls.name: cls for cls in (LfL, MaxEntIRL, LOGEL, GAIL, AIRL, IQLearn,
                                                                 GuidedCostLearning, DAC, TREX)}
METHODS: dict[str, type[IRLMethod]] = dict(BUILTIN)  # the built-in methods and the plugins' registered this process
