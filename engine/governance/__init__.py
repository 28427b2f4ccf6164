"""Data governance: the generated data dictionary, masking rules and sharing packages (issue #18)."""
