package manifest

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// dupKey is a mapping key that appears twice: at is the second one, first
// the first.
type dupKey struct {
	key       string
	where     string // "at the top level", "under paths./pets.get"
	at, first Pos
}

// duplicateKeys walks a parsed spec (YAML or JSON, which yaml.v3 reads
// alike, positions included) and lists every key repeated within one
// mapping. Keys are compared by their text, so that "200" and 200, which
// collide in the JSON-shaped document kin-openapi builds, count as equal.
// Aliases are not followed (what they point at is walked where it is
// written), and merge keys (<<) are left to the YAML rules that allow them
// to be overridden.
func duplicateKeys(root *yaml.Node, file string) []dupKey {
	var out []dupKey
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for i, c := range n.Content {
				if n.Kind == yaml.SequenceNode {
					walk(c, append(path, strconv.Itoa(i)))
				} else {
					walk(c, path)
				}
			}
		case yaml.MappingNode:
			seen := make(map[string]Pos, len(n.Content)/2)
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Kind == yaml.ScalarNode && k.ShortTag() != "!!merge" {
					at := Pos{File: file, Line: k.Line, Col: k.Column}
					if first, dup := seen[k.Value]; dup {
						out = append(out, dupKey{key: k.Value, where: describePath(path), at: at, first: first})
					} else {
						seen[k.Value] = at
					}
				}
				walk(v, append(path, k.Value))
			}
		}
	}
	walk(root, nil)
	return out
}

func describePath(path []string) string {
	if len(path) == 0 {
		return "at the top level"
	}
	return "under " + strings.Join(path, ".")
}
