// Package manifest turns applink.yaml files into the typed desired state that
// plan, apply, graph and export read. It exists so that every later stage can
// trust its input: by the time Load returns a Manifest, each file has passed
// the JSON Schema (schema/applink.schema.json, generated from schema.go), each
// ${VAR} is expanded, names follow the API's rule (docs/manifest.md, "Names"),
// paths are absolute, specs parse as OpenAPI 3 and private keys parse as RSA of
// at least 2048 bits.
//
// Every finding is a Problem carrying the FILE:LINE:COL of the YAML value it
// is about, because a person fixes a manifest in an editor, not at a JSON
// pointer; all findings of a run are returned together, sorted. No finding
// ever quotes a secret: keys are referred to by file or variable name only.
package manifest
