"""The host's own app: social workers' visit notes, written with the case's step."""
