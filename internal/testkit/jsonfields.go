package testkit

import (
	"reflect"
	"strings"
)

// JSONFields are the JSON names of the fields of vs' types, recursively
// through pointers, slices, maps and nested structs: what a wire format
// can emit, for tests that its documentation names every field.
func JSONFields(vs ...any) map[string]bool {
	out := map[string]bool{}
	seen := map[reflect.Type]bool{}
	for _, v := range vs {
		jsonFields(reflect.TypeOf(v), seen, out)
	}
	return out
}

func jsonFields(t reflect.Type, seen map[reflect.Type]bool, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = true
		jsonFields(f.Type, seen, out)
	}
}
