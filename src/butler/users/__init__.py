"""People in the household: accounts, roles, personality (soul), voice, timezone."""
