"""patrolfleet: planners package."""
