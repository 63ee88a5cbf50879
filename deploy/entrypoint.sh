#!/bin/sh
# The container's entrypoint: migrate the database, then become the bot.
#
#   breakthrough-entrypoint [ARGS...]  =  breakthrough db upgrade && exec breakthrough ARGS
#
# Migrating here, as its own step, means a migration that fails stops the container with
# the reason on standard error, before the bot serves anyone. `exec` then replaces this
# shell with `breakthrough`, so the bot is PID 1 and receives docker stop's SIGTERM itself
# (a shell in between would not pass it on): it finishes in-flight turns, releases its
# claims and stops the scheduler before exiting.
set -eu

breakthrough db upgrade
exec breakthrough "$@"
