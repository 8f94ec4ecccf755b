"""Personas: the shared `Persona` type, catalogs and loaders."""

from persona_evals.personas.persona import AttributeValue, Persona

__all__ = ["AttributeValue", "Persona"]
