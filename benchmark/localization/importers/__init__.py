"""Importers that turn upstream benchmark releases into gvs suite folders."""
