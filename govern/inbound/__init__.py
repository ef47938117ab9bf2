"""Foreign API surfaces the gateway also serves, translated to and from its OpenAI shape."""
