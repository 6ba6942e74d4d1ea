"""patrolfleet: sim package."""
