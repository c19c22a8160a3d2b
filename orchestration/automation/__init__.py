"""Automation: the refresh job, its schedule, the landing sensor, pending-work detection."""
