"""Teams: group plans run in a team coaching channel, and the channel's weekly digest."""
