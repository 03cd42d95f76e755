// Package live reads what exists in Heroku AppLink for the apps of a
// manifest: one add-on per app, its connections and authorizations, the
// targets of each Data Cloud connection and the publications of each
// Salesforce connection. It uses list routes only, never one GET per
// resource, so that a plan of a hundred apps stays inside the Platform
// API's hourly budget, and runs every call under one concurrency bound.
//
// The World it returns is what the planner compares the manifest with; its
// Digest lets a saved plan be refused once what it saw has changed.
package live
