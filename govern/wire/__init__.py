"""Wire formats: msgspec Structs for the APIs the gateway speaks."""
