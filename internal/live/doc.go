// Package live is what exists in Heroku AppLink for the apps of a manifest,
// as plain records: one add-on per app, its connections and authorizations,
// the targets of each Data Cloud connection and the publications of each
// Salesforce connection, with the statuses the API gives them. It does no
// I/O and imports no HTTP client: internal/liveread fills a World from the
// API, the planner compares it with the manifest, and a test can build one
// by hand.
//
// Digest fingerprints a World, so that a saved plan can be refused once
// what it saw has changed.
package live
