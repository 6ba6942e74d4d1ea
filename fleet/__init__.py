"""patrolfleet: fleet package."""
