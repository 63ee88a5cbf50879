"""Breakthrough's platform-neutral core: conversations, people, places and time.

Nothing in here knows Slack or Discord. Adapters turn platform events into
:mod:`core.dialogue.events` and render :mod:`core.dialogue.intents`.
"""
