"""patrolfleet: api package."""
