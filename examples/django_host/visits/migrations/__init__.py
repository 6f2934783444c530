"""Migrations of the visits app."""
