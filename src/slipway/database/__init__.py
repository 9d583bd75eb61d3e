"""Databases around a deployment: backups, their verification, migration rehearsals, restores."""
