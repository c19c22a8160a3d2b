"""Runtime: how runs execute: writer lock, recovery, event log, progress, run state."""
