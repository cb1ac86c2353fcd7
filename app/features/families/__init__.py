"""Feature families: each module declares its features (name, meaning, when known) as
``FEATURES`` beside the code that computes them; ``app.features.definitions`` orders them
into the feature set and ``app.features.pipeline`` composes their computations."""
