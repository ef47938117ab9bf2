"""Providers: translation between the OpenAI shape and each upstream protocol."""
