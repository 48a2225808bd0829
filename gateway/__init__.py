"""fabrica.gateway: one HTTP and WebSocket API in front of the chain, the indexer's read model, content storage
and node telemetry — sign-in with Ethereum, roles from the chain, never a user's key.

`fabrica gateway serve` runs it (`app.create_app` builds the FastAPI application).
"""
