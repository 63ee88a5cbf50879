"""The bot's own fixed words, in one place so their tone stays consistent.

The coaching stance: the bot asks, it does not advise, and it never hurries anyone.
"""

from __future__ import annotations

__all__ = [
    "BACK_AT_START",
    "EMPTY_ANSWER",
    "FINISHED",
    "HELP",
    "INTEGRATION",
    "INTEGRATION_EMOTIONAL",
    "INTEGRATION_THANKS",
    "PAUSED",
    "PICK_ONE",
    "STALE_BUTTON",
    "STOPPED",
    "STOP_CONFIRM",
    "STOP_KEPT",
    "WELCOME_BACK",
]

HELP = (
    "Answer in your own words; there is no wrong answer and no hurry. You can also say:\n"
    "• back: change your previous answer\n"
    "• skip: leave this question out\n"
    "• pause / resume: take a break; nothing is lost\n"
    "• status: where we are\n"
    "• report: your report so far\n"
    "• stop: end the session (you keep everything you wrote)"
)
EMPTY_ANSWER = "Take your time. I'm here whenever you're ready."
PICK_ONE = "Please pick one of the options: the number or the words."
PAUSED = (
    "Paused. Nothing is lost: say resume whenever you're ready, "
    "and we'll pick up at the same question."
)
WELCOME_BACK = "Welcome back."
STOP_CONFIRM = (
    "Stop this session? Everything you've written is kept, and you'll get the report so far."
)
STOP_KEPT = "Carrying on, then."
STOPPED = "Session stopped. Everything you wrote is kept."
FINISHED = "This session has ended. Start a new one whenever you like."
BACK_AT_START = "This is the first question, so there is nothing to go back to."
STALE_BUTTON = "That button belongs to an earlier question. Here's where we are:"
INTEGRATION = (
    "That sounds like a real shift. How does it feel to see this? What does this mean for you?"
)
INTEGRATION_EMOTIONAL = (
    "Take a moment with that; there's no rush. How does it feel to see this? "
    "What does this mean for you?"
)
INTEGRATION_THANKS = "Thank you for taking that in."

PRIVATE_DONE = (
    "Thank you. These answers are yours alone: they are in this report, which only you see."
)
