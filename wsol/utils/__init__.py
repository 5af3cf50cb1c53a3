"""Small shared utilities (seeding, distributed environment, devices)."""
