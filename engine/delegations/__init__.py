"""Signed, time-boxed delegation of roles from one person to another (issue #18)."""
