// Package emulator is an in-process imitation of the three services
// applinkctl talks to: the Heroku Platform API subset that finds an app's
// AppLink API, every AppLink management route and the runtime route
// (docs/api.md), and the Salesforce side (connected apps with
// certificates, the JWT bearer token endpoint, an OAuth authorize page
// behind every redirect_uri).
//
// It exists because nobody working on applinkctl can reach Heroku and its
// users want to try it without touching production: the same Emulator is
// the test bed of the client (under httptest), the `applinkctl emulator`
// server and the `--sandbox` backend. It speaks its own wire structs and
// imports nothing of internal/client, so that it stays an independent
// witness of what the documented API does.
//
// Statuses move as docs/emulator.md ("Statuses") says, computed lazily from
// timestamps on each read, so no background goroutine is needed. The world is
// persisted to a directory after every mutation (temp file, fsync, rename) and
// loaded on start. Faults (latency, 503s, 429s, dropped connections) come from
// a seeded generator so that a run can be repeated.
package emulator
