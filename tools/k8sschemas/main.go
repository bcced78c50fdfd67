// Command k8sschemas writes the JSON schemas kubeconform validates deploy/k8s against, so that the
// validation downloads nothing: one standalone, strict schema per kind the manifests use, named as
// kubeconform looks them up ({kind}-{group}-{version}.json).
//
// The Kubernetes kinds come from the OpenAPI v2 document of k8s.io/kubernetes (api/openapi-spec/
// swagger.json in the module the Go module proxy serves), the CloudNativePG kinds from the CRDs of
// github.com/cloudnative-pg/cloudnative-pg (config/crd/bases). deploy/k8s/schemas/README.md says how to
// regenerate them.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "k8sschemas:", err)
		os.Exit(1)
	}
}

func run() error {
	swagger := flag.String("swagger", "", "the Kubernetes OpenAPI v2 document (api/openapi-spec/swagger.json)")
	kinds := flag.String("kinds", "", "comma-separated group/version/Kind of the Kubernetes kinds to write (core: v1/Kind)")
	out := flag.String("out", "", "folder to write the schemas to")
	flag.Parse()
	if *swagger == "" || *out == "" {
		return errors.New("usage: k8sschemas -swagger swagger.json -kinds apps/v1/Deployment,... -out dir [crd.yaml ...]")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := builtins(*swagger, strings.Split(*kinds, ","), *out); err != nil {
		return err
	}
	for _, crd := range flag.Args() {
		if err := crds(crd, *out); err != nil {
			return fmt.Errorf("%s: %w", crd, err)
		}
	}
	return nil
}

// fileName is where kubeconform looks for a kind: {kind}-{first label of the group}-{version}.json.
func fileName(group, version, kind string) string {
	suffix := ""
	if group != "" {
		suffix = "-" + strings.ToLower(strings.Split(group, ".")[0])
	}
	return strings.ToLower(kind) + suffix + "-" + version + ".json"
}

func builtins(path string, kinds []string, out string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	for _, want := range kinds {
		parts := strings.Split(want, "/")
		if len(parts) == 2 {
			parts = append([]string{""}, parts...)
		}
		if len(parts) != 3 {
			return fmt.Errorf("kind %q: want group/version/Kind", want)
		}
		name, err := findDefinition(doc.Definitions, parts[0], parts[1], parts[2])
		if err != nil {
			return err
		}
		schema := resolve(doc.Definitions, doc.Definitions[name], nil)
		if err := write(filepath.Join(out, fileName(parts[0], parts[1], parts[2])), schema); err != nil {
			return err
		}
	}
	return nil
}

func findDefinition(defs map[string]map[string]any, group, version, kind string) (string, error) {
	for name, d := range defs {
		gvks, _ := d["x-kubernetes-group-version-kind"].([]any)
		for _, g := range gvks {
			m, _ := g.(map[string]any)
			if m["group"] == group && m["version"] == version && m["kind"] == kind {
				return name, nil
			}
		}
	}
	return "", fmt.Errorf("no definition of %s/%s %s", group, version, kind)
}

// resolve inlines every $ref (kubeconform reads one file per kind), turns the int-or-string and
// quantity formats into what JSON Schema can check, and makes objects strict: a misspelt field fails.
func resolve(defs map[string]map[string]any, s map[string]any, seen []string) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		if slices.Contains(seen, name) {
			return map[string]any{} // a recursive type (JSONSchemaProps): accept anything below
		}
		return resolve(defs, defs[name], append(seen, name))
	}
	out := map[string]any{}
	for k, v := range s {
		switch k {
		case "x-kubernetes-group-version-kind", "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy",
			"x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-unions":
			continue
		}
		out[k] = v
	}
	return normalise(out, func(sub map[string]any) map[string]any { return resolve(defs, sub, seen) })
}

// normalise walks a schema's children with walk and applies the rules resolve describes.
func normalise(s map[string]any, walk func(map[string]any) map[string]any) map[string]any {
	if f, _ := s["format"].(string); f == "int-or-string" || s["x-kubernetes-int-or-string"] == true {
		delete(s, "type")
		delete(s, "format")
		delete(s, "x-kubernetes-int-or-string")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}
		return s
	}
	if f, _ := s["format"].(string); f == "quantity" {
		delete(s, "type")
		delete(s, "format")
		s["oneOf"] = []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}
		return s
	}
	if props, ok := s["properties"].(map[string]any); ok {
		np := map[string]any{}
		for k, v := range props {
			if m, ok := v.(map[string]any); ok {
				np[k] = walk(m)
			}
		}
		s["properties"] = np
		if _, set := s["additionalProperties"]; !set && s["x-kubernetes-preserve-unknown-fields"] != true {
			s["additionalProperties"] = false
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		s["items"] = walk(items)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		s["additionalProperties"] = walk(ap)
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		if list, ok := s[k].([]any); ok {
			for i, v := range list {
				if m, ok := v.(map[string]any); ok {
					list[i] = walk(m)
				}
			}
		}
	}
	return s
}

func crds(path, out string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var crd struct {
		Spec struct {
			Group string `json:"group"`
			Names struct {
				Kind string `json:"kind"`
			} `json:"names"`
			Versions []struct {
				Name   string `json:"name"`
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		return err
	}
	if len(crd.Spec.Versions) == 0 {
		return errors.New("no versions")
	}
	for _, v := range crd.Spec.Versions {
		var walk func(map[string]any) map[string]any
		walk = func(s map[string]any) map[string]any { return normalise(s, walk) }
		schema := walk(v.Schema.OpenAPIV3Schema)
		if err := write(filepath.Join(out, fileName(crd.Spec.Group, v.Name, crd.Spec.Names.Kind)), schema); err != nil {
			return err
		}
	}
	return nil
}

func write(path string, schema map[string]any) error {
	b, err := json.Marshal(schema) // compact: the schemas of the pod kinds inline the whole PodSpec
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
