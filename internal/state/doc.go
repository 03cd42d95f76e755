// Package state keeps applinkctl's record of what it manages (docs/state.md):
// the inventory prune trusts, the intents that make a killed apply resumable,
// the lock that stops two applies from mutating at once, and the history of
// applies.
//
// Two backends implement one Backend interface and pass one conformance
// suite: a JSON file written atomically beside the manifest (the default),
// and PostgreSQL (Heroku Postgres in CI), where many workspaces share one
// database and each holds its own advisory lock on one dedicated connection.
package state
