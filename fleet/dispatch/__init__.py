"""Dispatch by the 1-3-5 rule: the pure policy (`policy`) and the live dispatcher (`service`)."""
