// Package export writes a manifest that describes what exists live, so that
// a team with connections made by hand (heroku salesforce:connect, …) can
// adopt applinkctl without recreating anything: export, set the variables
// it names, and the first plan shows only adopt and noop.
//
// The API does not return everything a manifest declares: never the JWT
// client id or key, not the login URL a connection was made with, not the
// specs that were published. Render fills what it can, turns the unknowable
// parts into ${VAR} references with a comment saying what to set, and lists
// publications as commented entries. The text is built as a yaml.v3 node
// tree so that comments sit where a reader needs them, and every map is
// emitted in sorted order so that the same world gives the same bytes.
package export
