"""Management commands of the schema registry (`registry_key`); no logic lives here."""
