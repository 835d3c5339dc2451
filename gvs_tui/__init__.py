"""The interface: the ``gvs`` command (Typer) and the terminal app (Textual). Thin: it wires and shows."""
