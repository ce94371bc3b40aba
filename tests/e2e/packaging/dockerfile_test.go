package packaging

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// stage is one FROM section of a Dockerfile.
type stage struct {
	base, name string
	lines      []string // instructions with continuations joined
}

// parseDockerfile splits a Dockerfile into stages; no Docker engine runs
// here, so what can be checked is checked statically.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }() // read-only
	var (
		stages []stage
		cur    strings.Builder
	)
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			s := stage{}
			args := slices.DeleteFunc(fields[1:], func(f string) bool { return strings.HasPrefix(f, "--") })
			s.base = args[0]
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				s.name = args[2]
			}
			stages = append(stages, s)
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\") + " ")
			continue
		}
		cur.WriteString(l)
		flush()
	}
	flush()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// makefileBuild returns the Makefile's go build flags and the output path
// of cmd, so the images build exactly what `make build` builds.
func makefileBuild(t *testing.T, root, cmd string) (ldflagsX, out string) {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	x := regexp.MustCompile(`LDFLAGS :=.*(-X \S+=)\$\(VERSION\)`).FindStringSubmatch(string(mk))
	bin := regexp.MustCompile(`(?m)^BIN :=\s*(\S+)`).FindStringSubmatch(string(mk))
	o := regexp.MustCompile(`-o \$\(BIN\)/(\S+) \./cmd/` + regexp.QuoteMeta(cmd) + `\b`).FindStringSubmatch(string(mk))
	if x == nil || bin == nil || o == nil {
		t.Fatalf("Makefile: cannot find LDFLAGS -X, BIN or the build of ./cmd/%s", cmd)
	}
	return x[1], bin[1] + "/" + o[1]
}

func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	cases := []struct {
		file, cmd, runtimeBase string
		// also are further commands the image carries (not its entrypoint).
		also    []string
		nonRoot bool
		tools   []string
	}{
		{file: "Dockerfile.ccm", cmd: "cloud-controller-manager", runtimeBase: "gcr.io/distroless/static", nonRoot: true},
		{file: "Dockerfile.keystone-auth", cmd: "keystone-auth", also: []string{"client-keystone-auth"}, runtimeBase: "gcr.io/distroless/static", nonRoot: true},
		{file: "Dockerfile.csi", cmd: "csi-driver", also: []string{"csi-node-registrar"}, runtimeBase: "debian:", tools: []string{"util-linux", "e2fsprogs", "xfsprogs", "mount", "udev"}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			stages := parseDockerfile(t, filepath.Join(root, tc.file))
			if len(stages) < 2 {
				t.Fatalf("%d stages, want a multi-stage build", len(stages))
			}
			build, final := stages[0], stages[len(stages)-1]
			if !strings.HasPrefix(build.base, "golang:") || build.name == "" {
				t.Errorf("first stage FROM %s AS %q, want a named golang stage", build.base, build.name)
			}
			if !strings.HasPrefix(final.base, tc.runtimeBase) {
				t.Errorf("runtime base %s, want %s…", final.base, tc.runtimeBase)
			}
			ldX, out := makefileBuild(t, root, tc.cmd)
			var goBuild string
			for _, l := range build.lines {
				if strings.Contains(l, "go build") {
					goBuild = l
				}
			}
			outs := map[string]bool{out: true}
			wants := []string{"CGO_ENABLED=0", "-trimpath", ldX + "${VERSION}", "-o " + out, "./cmd/" + tc.cmd}
			for _, cmd := range tc.also {
				_, o := makefileBuild(t, root, cmd)
				outs[o] = true
				wants = append(wants, "-o "+o+" ./cmd/"+cmd)
			}
			for _, want := range wants {
				if !strings.Contains(goBuild, want) {
					t.Errorf("go build line %q lacks %q", goBuild, want)
				}
			}
			copies := 0
			var copied, entry string
			user := ""
			for _, l := range final.lines {
				f := strings.Fields(l)
				switch strings.ToUpper(f[0]) {
				case "COPY":
					if len(f) == 4 && f[1] == "--from="+build.name {
						src := strings.TrimPrefix(f[2], "/src/")
						if !outs[src] {
							t.Errorf("COPY %s: not a Makefile output path (%v)", f[2], outs)
						}
						copies++
						if src == out {
							copied = f[3]
						}
					}
				case "ENTRYPOINT":
					entry = l
				case "USER":
					user = f[1]
				}
			}
			if copies != len(outs) {
				t.Errorf("%d binaries copied into the image, want %d", copies, len(outs))
			}
			if copied == "" || !strings.Contains(entry, `"`+copied+`"`) {
				t.Errorf("ENTRYPOINT %q does not run the copied binary %q", entry, copied)
			}
			if tc.nonRoot && (user == "" || strings.HasPrefix(user, "0") || user == "root") {
				t.Errorf("USER %q, want a non-root user", user)
			}
			install := strings.Join(final.lines, " ")
			for _, tool := range tc.tools {
				if !regexp.MustCompile(`\b` + regexp.QuoteMeta(tool) + `\b`).MatchString(install) {
					t.Errorf("runtime stage does not install %s", tool)
				}
			}
			// Every COPY source of the build stage exists and survives
			// .dockerignore.
			ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range build.lines {
				f := strings.Fields(l)
				if strings.ToUpper(f[0]) != "COPY" || strings.HasPrefix(f[1], "--from") {
					continue
				}
				for _, src := range f[1 : len(f)-1] {
					if _, err := os.Stat(filepath.Join(root, src)); err != nil {
						t.Errorf("COPY %s: %v", src, err)
					}
					if !strings.Contains(string(ignore), "!"+src) {
						t.Errorf(".dockerignore excludes %s (everything is ignored unless re-included)", src)
					}
				}
			}
		})
	}
}
