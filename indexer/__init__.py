"""fabrica.indexer — chain events -> SQL read model (reorg-safe mirror of every Fabrica contract event)."""
