"""Prompt catalogues, one YAML file per language (loaded by :mod:`ivr.catalogue`)."""
