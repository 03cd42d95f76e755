// Package preflight tells, before any apply, whether each JWT key of a
// manifest will work: it runs the JWT bearer flow that AppLink itself runs
// on a JWT create (an RS256 assertion with iss = client id, sub = username,
// aud = login URL and a short exp, posted to {login_url}/services/oauth2/token)
// and turns Salesforce's answer into a verdict with the likely fix. An apply
// that fails on a JWT create leaves a failed resource behind to be replaced;
// a preflight costs one token request and changes nothing.
//
// It also compares a key with the PEM certificate uploaded to the connected
// app, locally, which catches the most common mistake (the key of another
// certificate) without a network.
//
// The private key, the assertion and any access token never leave this
// package: results carry only addresses, URLs, Salesforce's error code and
// description (scrubbed), and public-key fingerprints.
package preflight
