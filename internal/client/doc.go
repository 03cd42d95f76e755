// Package client is applinkctl's typed client for the two HTTP APIs it
// drives (docs/api.md): the Heroku Platform API, used only to find an
// app's AppLink add-on, its API URL and token and an SSO payload, and the
// AppLink management API under that add-on.
//
// Every call has one shape, (ctx, keys…, body) → (T, error), and goes through
// one transport that sends the headers of docs/api.md, turns non-2xx answers
// into typed errors (ErrNotFound, *ConflictError, *ValidationError,
// *RateLimitError, *APIError), retries what is safe to retry and slows down as
// the account's shared rate-limit budget runs low. A POST whose outcome is
// unknown is never sent twice: it fails with an *AmbiguousError and the caller
// looks the name up, because a blind re-send of a create would make a duplicate
// or a 409.
//
// No credential leaves for another origin: the transport sends through a
// safehttp copy of the HTTP client, so a POST, PUT, PATCH or DELETE never
// follows a redirect, a GET follows one only within its own origin, and a
// plaintext request never goes through a non-loopback proxy (*RedirectError,
// *ProxyError; nothing is sent to the refused address).
//
// Secrets (the API key, the add-on token, the SSO payload, private keys and
// access tokens) are held in secret.Value and appear in no error, log line or
// printed form of any value of this package.
package client
