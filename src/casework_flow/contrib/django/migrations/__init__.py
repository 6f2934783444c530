"""Migrations of the casework tables; each file applies one schema step, frozen."""
