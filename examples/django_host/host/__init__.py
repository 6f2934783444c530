"""A Django project that keeps its visit notes and its cases in one database."""
