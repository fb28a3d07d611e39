"""Chat platform adapters. Each one turns platform events into `bot.messages.Incoming`, hands
them to `bot.router.Router` and renders the `Reply` list it gets back. Adapters never touch the
database themselves: storing, deduplicating and handling is the router's job."""
