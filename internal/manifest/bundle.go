package manifest

// Bundle is what publishing uploads for a publication (applink-api.md §2.2),
// built deterministically so its digest is stable across runs and machines.
type Bundle struct {
	Zip            []byte
	Digest         string   // "sha256:<hex>" over spec, metadata files and names
	Spec           []byte   // the spec file bytes as uploaded
	SpecName       string   // api-spec.json or api-spec.yaml
	MetadataDigest string   // "sha256:<hex>" over metadata files, "" when none
	Operations     []string // "GET /orders", sorted
}
