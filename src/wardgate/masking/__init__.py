"""Masking of result data (DESIGN.md, "Masking"): rules, detectors, lineage, plans.

`MaskingEngine` (one per gateway) compiles the `masking` section; a
`MaskingSession` (one per client session) analyses commands and hands the plugin
a `MaskingPlan` per result shape whose `CommandMasker` rewrites values.
"""

from wardgate.masking.config import MaskingRule, check_rules
from wardgate.masking.planner import MaskingEngine
from wardgate.masking.rules import MaskingRules
from wardgate.masking.session import MaskingSession

__all__ = ["MaskingEngine", "MaskingRule", "MaskingRules", "MaskingSession", "check_rules"]
