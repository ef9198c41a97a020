"""Term lists loaded by the keyword checkers (installed as ``draftgate_blocklists``)."""
