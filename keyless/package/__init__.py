"""The components served as the ``keyless`` Pulumi package, and their generated reference."""
