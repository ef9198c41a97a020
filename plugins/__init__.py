"""Built-in draftgate plugins (installed as ``draftgate_plugins``).

Each module here is an ordinary pluggy plugin registered through the
``draftgate`` entry-point group, exactly as a third-party plugin would be.
"""
