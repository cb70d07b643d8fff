"""Console models are defined in `console.models_*` modules and re-exported here."""
