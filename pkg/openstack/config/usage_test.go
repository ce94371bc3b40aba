package config

import (
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// keyField finds, by setting the key to trial values on a default
// configuration, which struct field (e.g. "LoadBalancer.FlavorID") a
// cloud.conf key fills.
func keyField(t *testing.T, section, key, sub string, set setter) string {
	t.Helper()
	for _, v := range []string{"false", "true", "7", "7s", "zz", "10.0.0.0/8", "metadataService", "LEAST_CONNECTIONS", "external", "k=v", "v2", "internal", "https://keystone.example/v3"} {
		c := Default()
		if err := set(c, sub, value{s: v, set: true}); err != nil {
			continue
		}
		if f := changedField(reflect.ValueOf(*Default()), reflect.ValueOf(*c), ""); f != "" {
			return f
		}
	}
	t.Fatalf("[%s] %s: no trial value changes any field", section, key)
	return ""
}

// changedField is the first exported leaf field that differs, as
// "Struct.Field" (the struct's type name and the field).
func changedField(a, b reflect.Value, owner string) string {
	switch a.Kind() {
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			f := a.Type().Field(i)
			if !f.IsExported() || f.Name == "Warnings" {
				continue
			}
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == a.Type().PkgPath() {
				if got := changedField(a.Field(i), b.Field(i), f.Type.Name()); got != "" {
					return got
				}
				continue
			}
			if f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Pointer {
				// Named sections: compare the one the setter made with a
				// zero section of the same type.
				for _, k := range b.Field(i).MapKeys() {
					zero := reflect.New(f.Type.Elem().Elem()).Elem()
					if got := changedField(zero, b.Field(i).MapIndex(k).Elem(), f.Type.Elem().Elem().Name()); got != "" {
						return got
					}
				}
				continue
			}
			if !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
				return owner + "." + f.Name
			}
		}
	}
	return ""
}

// readFields are the config struct fields that code outside this package
// reads (selector expressions, type-checked), as "Struct.Field".
func readFields(t *testing.T) map[string]bool {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir:  root,
	}, "./cmd/...", "./pkg/...")
	if err != nil {
		t.Fatal(err)
	}
	const self = "github.com/kumo-project/kumo/pkg/openstack/config"
	read := map[string]bool{}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("loading %s: %v", p.PkgPath, e)
		}
		if p.PkgPath == self {
			continue
		}
		for _, sel := range p.TypesInfo.Selections {
			if sel.Kind() != types.FieldVal || sel.Obj().Pkg() == nil || sel.Obj().Pkg().Path() != self {
				continue
			}
			recv := sel.Recv()
			if ptr, ok := recv.(*types.Pointer); ok {
				recv = ptr.Elem()
			}
			if named, ok := recv.(*types.Named); ok {
				read[named.Obj().Name()+"."+sel.Obj().Name()] = true
			}
		}
	}
	return read
}

// TestEveryAcceptedKeyIsReadOrWarned is the guard against silently
// ignored settings: every key the parser accepts fills a field that kumo
// reads, or is an inert key that warns by name, or is refused where it
// cannot work.
func TestEveryAcceptedKeyIsReadOrWarned(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks the whole module")
	}
	read := readFields(t)
	inert := inertKeys()
	// Keys validate() or noteKey() handle themselves: refused with an
	// error, or warned about there.
	handled := map[string]string{
		"Global/use-clouds":       "refused: clouds.yaml is not supported",
		"Global/clouds-file":      "warned by noteKey",
		"Global/cloud":            "warned by noteKey",
		"LoadBalancer/lb-version": "warned by noteKey (only v2)",
	}
	for secName, def := range sections {
		for key, set := range def.keys {
			id := def.display + "/" + key
			sub := ""
			if def.sub == 2 {
				sub = "x"
			}
			field := keyField(t, def.display, key, sub, set)
			_, isInert := inert[id]
			_, isHandled := handled[id]
			switch {
			case read[field] && isInert:
				t.Errorf("%s fills %s, which code reads: remove it from inertKeys (and docs)", id, field)
			case read[field], isHandled:
			case isInert:
				if ws := warningsFor(t, def, key); !slices.ContainsFunc(ws, func(w string) bool { return strings.Contains(w, key) }) {
					t.Errorf("inert key %s set gives no warning naming it: %v", id, ws)
				}
			default:
				t.Errorf("%s (section %q) fills %s, which no code outside the config package reads: make it work, or list it in inertKeys with a warning", id, secName, field)
			}
		}
	}
	for id := range inert {
		sec, key, _ := strings.Cut(id, "/")
		if def := sections[strings.ToLower(sec)]; def == nil || def.keys[key] == nil {
			t.Errorf("inertKeys lists %s, which the parser does not accept", id)
		}
	}
}

// warningsFor parses a minimal file setting key to true in def's section.
func warningsFor(t *testing.T, def *sectionDef, key string) []string {
	t.Helper()
	header := "[" + def.display + "]"
	if def.sub == 2 {
		header = "[" + def.display + ` "x"]`
	}
	c, err := ParseWithOptions(Options{SkipAuthValidation: true}, "cloud.conf", []byte(header+"\n"+key+" = true\n"))
	if err != nil {
		// String keys: any non-empty value asks for something.
		c, err = ParseWithOptions(Options{SkipAuthValidation: true}, "cloud.conf", []byte(header+"\n"+key+" = external\n"))
		if err != nil {
			t.Fatalf("%s %s: %v", header, key, err)
		}
	}
	return c.Warnings
}

// TestDocsListEveryKey keeps docs/install-openstack.md's key table and the
// parser in step: one row per accepted key, and the row's state says what
// the code does (works, no effect with a warning, refused or ignored).
func TestDocsListEveryKey(t *testing.T) {
	data, err := os.ReadFile("../../../docs/install-openstack.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("^\\| `\\[([A-Za-z]+)[^]]*\\]` \\| `([a-z0-9-]+)` \\| [^|]* \\| ([^|]*) \\|$")
	states := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		id := m[1] + "/" + m[2]
		if _, dup := states[id]; dup {
			t.Errorf("docs list %s twice", id)
		}
		states[id] = m[3]
	}
	inert := inertKeys()
	for _, def := range sections {
		for key := range def.keys {
			id := def.display + "/" + key
			state, ok := states[id]
			delete(states, id)
			_, isInert := inert[id]
			switch {
			case !ok:
				t.Errorf("docs/install-openstack.md does not list %s", id)
			case isInert && !strings.HasPrefix(state, "no effect (warning)"):
				t.Errorf("docs say %s %q; it has no effect and warns", id, state)
			case !isInert && strings.HasPrefix(state, "no effect"):
				t.Errorf("docs say %s has no effect; the code reads it", id)
			}
		}
	}
	for id := range states {
		t.Errorf("docs list %s, which the parser does not accept", id)
	}
}
