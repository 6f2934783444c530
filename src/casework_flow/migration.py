"""Moving live cases to a new version of their workflow: the plan and the report.

`Engine.plan_migration` makes a `MigrationPlan` (a dry run: where each case would go and
what blocks it); `Engine.migrate` applies it case by case and returns a `MigrationReport`.
"""

from ._migration import MigrationItem, MigrationPlan, MigrationReport

__all__ = ["MigrationItem", "MigrationPlan", "MigrationReport"]
