"""The imperative shell: sheets, engine, journal, alerts, scheduling and the command."""
